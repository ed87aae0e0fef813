/**
 * Sliding sync connections (MSC4186 § Connections), in memory: per user, device and `conn_id`, the
 * state at each `pos` handed out that a client may still send. A request with `pos` P makes every
 * other state of its connection obsolete (the client processed P's answer), so a connection holds
 * P and the answers computed from it. Everything is bounded: connections per device, devices, states
 * per connection, rooms per state (the least recently sent are forgotten and sent again as new);
 * a state unused for CONNECTION_EXPIRY_MS, or one this process never handed out (a restart, an
 * evicted connection), is M_UNKNOWN_POS, after which the client starts over.
 */
import { BoundedMap } from '../../../boundedMap.ts';
import { MatrixError } from '../../../errors.ts';
import type { ConnectionState, SentRoom } from './types.ts';

export const CONNECTION_LIMITS: Readonly<Record<'connectionsPerDevice' | 'devices' | 'statesPerConnection' | 'roomsPerConnection' | 'expiryMs', number>> = {
  connectionsPerDevice: 10,
  devices: 20_000,
  statesPerConnection: 4,
  roomsPerConnection: 10_000,
  /** As Synapse: a connection unused for a week is gone. */
  expiryMs: 7 * 24 * 3600 * 1000,
};

interface StoredState {
  readonly state: ConnectionState;
  lastUsed: number;
}

type Connection = BoundedMap<string, StoredState>;

export const unknownPos = (): MatrixError => new MatrixError('M_UNKNOWN_POS', 400, 'Unknown or expired position: start the connection over');

/** Which connection a state was resumed from: an answer computed from it is stored only while it lives. */
export interface ConnectionHandle {
  readonly connection: object;
}

export interface SlidingConnections {
  /**
   * The state at `pos` of the device's connection `connId`; every other state of it is dropped.
   * Throws M_UNKNOWN_POS when there is none.
   */
  resume(userId: string, deviceId: string, connId: string, pos: string, now: number): { state: ConnectionState; handle: ConnectionHandle };
  /** Starts the connection over (a request without `pos`): its earlier states are gone. */
  reset(userId: string, deviceId: string, connId: string): void;
  /**
   * Remembers `state` and answers the `pos` that names it. With `resumed`, M_UNKNOWN_POS when that
   * connection was started over or forgotten meanwhile (the answer belongs to a connection gone).
   */
  store(userId: string, deviceId: string, connId: string, state: ConnectionState, now: number, resumed?: ConnectionHandle): string;
  /** Forgets every connection of the user (erasure). */
  forgetUser(userId: string): void;
  /** Forgets a deleted device's connections: a device id logged in again starts afresh. */
  forgetDevice(userId: string, deviceId: string): void;
}

/** Keeps at most `roomsPerConnection` rooms, the most recently sent ones (Map order is insertion order). */
export const boundedRooms = (rooms: ReadonlyMap<string, SentRoom>, max: number = CONNECTION_LIMITS.roomsPerConnection): ReadonlyMap<string, SentRoom> => {
  if (rooms.size <= max) return rooms;
  return new Map([...rooms].slice(rooms.size - max));
};

export const createSlidingConnections = (instance: string): SlidingConnections => {
  // `user\0device` → conn_id → pos → state.
  const devices = new BoundedMap<string, BoundedMap<string, Connection>>(CONNECTION_LIMITS.devices);
  let counter = 0;
  const deviceKey = (userId: string, deviceId: string): string => `${userId}\u0000${deviceId}`;

  return {
    resume(userId, deviceId, connId, pos, now) {
      const connection = devices.touch(deviceKey(userId, deviceId))?.touch(connId);
      const stored = connection?.get(pos);
      if (connection === undefined || stored === undefined || now - stored.lastUsed > CONNECTION_LIMITS.expiryMs) throw unknownPos();
      for (const other of [...connection.keys()]) if (other !== pos) connection.delete(other);
      stored.lastUsed = now;
      return { state: stored.state, handle: { connection } };
    },
    reset(userId, deviceId, connId) {
      devices.get(deviceKey(userId, deviceId))?.delete(connId);
    },
    store(userId, deviceId, connId, state, now, resumed) {
      const key = deviceKey(userId, deviceId);
      if (resumed !== undefined && devices.get(key)?.get(connId) !== resumed.connection) throw unknownPos();
      let connections = devices.touch(key);
      if (connections === undefined) devices.set(key, (connections = new BoundedMap(CONNECTION_LIMITS.connectionsPerDevice)));
      let connection = connections.touch(connId);
      if (connection === undefined) connections.set(connId, (connection = new BoundedMap(CONNECTION_LIMITS.statesPerConnection)));
      counter += 1;
      // The instance part makes a position of an earlier process unknown here, never another state's.
      const pos = `${instance}_${counter}`;
      connection.set(pos, { state: { ...state, rooms: boundedRooms(state.rooms) }, lastUsed: now });
      return pos;
    },
    forgetUser(userId) {
      const prefix = `${userId}\u0000`;
      for (const key of [...devices.keys()]) if (key.startsWith(prefix)) devices.delete(key);
    },
    forgetDevice(userId, deviceId) {
      devices.delete(deviceKey(userId, deviceId));
    },
  };
};
