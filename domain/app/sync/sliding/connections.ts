/**
 * Sliding sync connections (MSC4186 § Connections), in memory: per user, device and `conn_id`, the
 * state at each `pos` handed out that a client may still send. A request with `pos` P makes every
 * other state of its connection obsolete (the client processed P's answer), so a connection holds
 * P and the answers computed from it. Everything is bounded: connections in all and per device (the
 * least recently used go), states per connection, rooms per state (the least recently sent are
 * forgotten and sent again as new);
 * a state unused for CONNECTION_EXPIRY_MS, or one this process never handed out (a restart, an
 * evicted connection), is M_UNKNOWN_POS, after which the client starts over.
 */
import { BoundedMap } from '../../../boundedMap.ts';
import { MatrixError } from '../../../errors.ts';
import type { ConnectionState, SentRoom } from './types.ts';

export const CONNECTION_LIMITS: Readonly<Record<'connectionsPerDevice' | 'connections' | 'statesPerConnection' | 'roomsPerConnection' | 'expiryMs', number>> = {
  connectionsPerDevice: 10,
  /** Element X keeps two per device: thousands of devices syncing at once. */
  connections: 10_000,
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
  // `user\0device` → conn_id → connection (pos → state); every connection also in `all`, by
  // device and conn_id, for the bound on them all. Evicted from one, a connection leaves the other.
  const devices = new Map<string, BoundedMap<string, Connection>>();
  const all = new BoundedMap<string, { readonly device: string; readonly connId: string }>(CONNECTION_LIMITS.connections, (_key, { device, connId }) => {
    devices.get(device)?.delete(connId);
    if (devices.get(device)?.size === 0) devices.delete(device);
  });
  let counter = 0;
  const allKey = (device: string, connId: string): string => JSON.stringify([device, connId]);
  const deviceKey = (userId: string, deviceId: string): string => `${userId}\u0000${deviceId}`;
  const forget = (device: string): void => {
    for (const connId of devices.get(device)?.keys() ?? []) all.delete(allKey(device, connId));
    devices.delete(device);
  };

  return {
    resume(userId, deviceId, connId, pos, now) {
      const device = deviceKey(userId, deviceId);
      all.touch(allKey(device, connId));
      const connection = devices.get(device)?.touch(connId);
      const stored = connection?.get(pos);
      if (connection === undefined || stored === undefined || now - stored.lastUsed > CONNECTION_LIMITS.expiryMs) throw unknownPos();
      for (const other of [...connection.keys()]) if (other !== pos) connection.delete(other);
      stored.lastUsed = now;
      return { state: stored.state, handle: { connection } };
    },
    reset(userId, deviceId, connId) {
      const device = deviceKey(userId, deviceId);
      devices.get(device)?.delete(connId);
      all.delete(allKey(device, connId));
    },
    store(userId, deviceId, connId, state, now, resumed) {
      const device = deviceKey(userId, deviceId);
      if (resumed !== undefined && devices.get(device)?.get(connId) !== resumed.connection) throw unknownPos();
      let connections = devices.get(device);
      if (connections === undefined) {
        const created = new BoundedMap<string, Connection>(CONNECTION_LIMITS.connectionsPerDevice, (evicted) => all.delete(allKey(device, evicted)));
        devices.set(device, (connections = created));
      }
      let connection = connections.touch(connId);
      if (connection === undefined) connections.set(connId, (connection = new BoundedMap(CONNECTION_LIMITS.statesPerConnection)));
      all.set(allKey(device, connId), { device, connId });
      counter += 1;
      // The instance part makes a position of an earlier process unknown here, never another state's.
      const pos = `${instance}_${counter}`;
      connection.set(pos, { state: { ...state, rooms: boundedRooms(state.rooms) }, lastUsed: now });
      return pos;
    },
    forgetUser(userId) {
      const prefix = `${userId}\u0000`;
      for (const device of [...devices.keys()]) if (device.startsWith(prefix)) forget(device);
    },
    forgetDevice(userId, deviceId) {
      forget(deviceKey(userId, deviceId));
    },
  };
};
