/**
 * Ephemeral data and to-device messages for bridges that opted in (`receive_ephemeral`), and
 * MSC3202's device list changes and key counts for those that opted in to it (`org.matrix.msc3202`), read
 * since the positions a bridge's last acknowledged transaction reached (Synapse's
 * application_services_state stream ids), so nothing is missed across restarts:
 * - receipts, presence and to-device messages are PostgreSQL streams (infra/userData): read here
 *   across all rooms and users since the bridge's position (the /sync stores read per user or room),
 *   at most one transaction's worth at a time, then filtered by the bridge's interest; a bridge
 *   with no position yet starts at the stream's current one (no history);
 * - typing lives in memory (domain/app/userData/typing.ts): the rooms notified since the last read
 *   are asked, best effort, from a position kept in memory.
 * The notifier (domain/app/notifier) tells which bridges may have news: a bridge is woken at most
 * every WAKE_DELAY_MS however busy the server is.
 */
import {
  keyCountUsers, KnownRoom, localJoinedMembers, mayConcern, MAX_EPHEMERAL_PER_TRANSACTION, MAX_TO_DEVICE_PER_TRANSACTION, presenceEvent, receiptEvents,
  toDeviceEvent, typingEvent,
} from '../../../domain/app/appservices/sender/index.ts';
import type { DeviceDirectory, Notifier, TypingStream, UserDataPositions } from '../../../domain/app/userData/index.ts';
import {
  BoundedMap, isInterestedInRoom, isInterestedInUser, type AppserviceRegistration, type JsonObject, type PresenceState, type Receipt,
  type RoomDirectory, type RoomMembership, type RoomReadModel, type SqlDatabase,
} from '../../../domain/index.ts';
import type { AppserviceExtrasSource } from './sender.ts';
import type { StreamPositions } from './store.ts';

/** A notifier that also tells listeners of every notification (wrapped where the notifier is made). */
export interface NotifierTap {
  readonly notifier: Notifier;
  onNotify(listener: (keys: readonly string[]) => void): () => void;
}

export const tapNotifier = (notifier: Notifier): NotifierTap => {
  const listeners = new Set<(keys: readonly string[]) => void>();
  return {
    notifier: {
      ...notifier,
      notify(keys) {
        notifier.notify(keys);
        for (const listener of listeners) listener(keys);
      },
    },
    onNotify(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
};

export interface AppserviceEphemeralOptions {
  readonly db: SqlDatabase;
  readonly serverName: string;
  readonly registrations: readonly AppserviceRegistration[];
  readonly tap: Pick<NotifierTap, 'onNotify'>;
  /** The user data streams' positions (UserDataStores.currentPositions). */
  currentPositions(): Promise<UserDataPositions>;
  readonly typing: Pick<TypingStream, 'currentPosition' | 'changesSince'>;
  readonly membership: Pick<RoomMembership, 'usersSharingRoomsWith'>;
  readonly rooms: Pick<RoomReadModel, 'members' | 'roomsWithMembership'>;
  /** MSC3202: a user's devices (the account store) and each device's key counts (UserDataStreams.keyCounts). */
  readonly devices: Pick<DeviceDirectory, 'listDevices'>;
  keyCounts(userId: string, deviceId: string): Promise<{ oneTimeKeyCounts: Record<string, number>; unusedFallbackKeyTypes: string[] }>;
  readonly directory: Pick<RoomDirectory, 'aliasesOf'>;
  readonly wakeDelayMs?: number;
}

const WAKE_DELAY_MS = 100;
/** Rooms notified since a bridge's last read, asked for typing; past this the oldest are forgotten. */
const TYPING_ROOMS_KEPT = 1_000;
const ROOMS_KEPT = 10_000;

/** The streams' index by position alone: the reads here span every room and user. */
const INDEXES = [
  'CREATE INDEX IF NOT EXISTS receipts_stream_pos ON receipts (stream_pos)',
  'CREATE INDEX IF NOT EXISTS to_device_inbox_stream_pos ON to_device_inbox (stream_pos)',
];

type Kind = 'receipts' | 'presence' | 'to_device' | 'device_lists';
/** Users with changed device lists read at a time. */
const DEVICE_LIST_CHANGES_PER_READ = 100;

export const createAppserviceEphemeral = async (options: AppserviceEphemeralOptions): Promise<AppserviceExtrasSource> => {
  const { db, serverName } = options;
  const receiving = options.registrations.filter((registration) => registration.url !== null && (registration.receiveEphemeral || registration.msc3202));
  if (receiving.length > 0) for (const statement of INDEXES) await db.query(statement);
  const wakeDelayMs = options.wakeDelayMs ?? WAKE_DELAY_MS;

  /** Current rooms' facts for receipts and typing, read again once their aliases are stale. */
  const roomFacts = new BoundedMap<string, KnownRoom>(ROOMS_KEPT);
  const currentRoom = async (roomId: string): Promise<KnownRoom> => {
    let room = roomFacts.get(roomId);
    if (room === undefined || room.aliasesStale(Date.now())) {
      const members = localJoinedMembers(await options.rooms.members(roomId), serverName);
      room = new KnownRoom(roomId, -1, members, await options.directory.aliasesOf(roomId), Date.now());
      roomFacts.set(roomId, room);
    }
    return room;
  };
  const interestedInRoom = async (registration: AppserviceRegistration, roomId: string): Promise<boolean> => {
    const room = await currentRoom(roomId);
    let interested = room.interest.get(registration.id);
    if (interested === undefined) {
      interested = isInterestedInRoom(registration, room);
      room.interest.set(registration.id, interested);
    }
    return interested;
  };

  const typingRooms = new Map<string, BoundedMap<string, true>>();
  const typingSince = new Map<string, number>();
  for (const registration of receiving) typingRooms.set(registration.id, new BoundedMap(TYPING_ROOMS_KEPT));

  const readTyping = async (registration: AppserviceRegistration, budget: number): Promise<JsonObject[]> => {
    const upTo = options.typing.currentPosition();
    const since = typingSince.get(registration.id);
    typingSince.set(registration.id, upTo);
    const candidates = typingRooms.get(registration.id)!;
    const roomIds = [...candidates.keys()];
    candidates.clear();
    if (since === undefined || roomIds.length === 0) return [];
    const events: JsonObject[] = [];
    for (const change of options.typing.changesSince(roomIds, since, upTo)) {
      if (events.length >= budget) break;
      if (await interestedInRoom(registration, change.roomId)) events.push(typingEvent(change.roomId, change.userIds));
    }
    return events;
  };

  /** Up to `limit` rows of a stream in (since, upTo], and the position they reach. */
  const readStream = async <Row extends { stream_pos: number | string }>(
    sql: string, since: number, upTo: number, limit: number,
  ): Promise<{ rows: Row[]; reached: number }> => {
    const { rows } = await db.query<Row>(sql, [since, upTo, limit]);
    return { rows, reached: rows.length === limit ? Number(rows[rows.length - 1]!.stream_pos) : upTo };
  };

  const sharesRoomWithBridge = async (registration: AppserviceRegistration, userId: string): Promise<boolean> => {
    if (isInterestedInUser(registration, userId)) return true;
    for (const other of await options.membership.usersSharingRoomsWith(userId)) if (isInterestedInUser(registration, other)) return true;
    return false;
  };

  /**
   * Whether the bridge hears of the user's device list changes (Synapse's
   * `_is_appservice_interested_in_device_lists_of_user`): one of its users, or in a room it is interested in.
   */
  const followsDevicesOf = async (registration: AppserviceRegistration, userId: string): Promise<boolean> => {
    if (isInterestedInUser(registration, userId)) return true;
    for (const roomId of await options.rooms.roomsWithMembership(userId, ['join'])) if (await interestedInRoom(registration, roomId)) return true;
    return false;
  };

  return {
    async collect(registration, streams) {
      const current = await options.currentPositions();
      const upTo: Record<Kind, number> = {
        receipts: current.receipts, presence: current.presence, to_device: current.toDevice, device_lists: current.deviceLists,
      };
      const reached: Record<string, number> = {};
      const toDevice: JsonObject[] = [];
      /** The kind's position, or its current one for a bridge that has none yet (it starts now); undefined when nothing is new or the bridge takes none. */
      const since = (kind: Kind): number | undefined => {
        if (kind === 'device_lists' ? !registration.msc3202 : !registration.receiveEphemeral) return undefined;
        const stored = streams[kind];
        if (stored === undefined) reached[kind] = upTo[kind];
        return stored === undefined || stored >= upTo[kind] ? undefined : stored;
      };
      const ephemeral = registration.receiveEphemeral ? await readTyping(registration, MAX_EPHEMERAL_PER_TRANSACTION) : [];

      const receiptsSince = since('receipts');
      const receiptBudget = MAX_EPHEMERAL_PER_TRANSACTION - ephemeral.length;
      if (receiptsSince !== undefined && receiptBudget > 0) {
        const read = await readStream<{ room_id: string; receipt_type: string; user_id: string; thread_id: string; event_id: string; ts: number | string; stream_pos: number | string }>(
          `SELECT room_id, receipt_type, user_id, thread_id, event_id, ts, stream_pos FROM receipts
           WHERE stream_pos > $1 AND stream_pos <= $2 ORDER BY stream_pos LIMIT $3`, receiptsSince, upTo.receipts, receiptBudget);
        const receipts: Receipt[] = [];
        for (const row of read.rows) {
          if (!(await interestedInRoom(registration, row.room_id))) continue;
          receipts.push({
            roomId: row.room_id, receiptType: row.receipt_type, userId: row.user_id, eventId: row.event_id, ts: Number(row.ts),
            position: Number(row.stream_pos), ...(row.thread_id === '' ? {} : { threadId: row.thread_id }),
          });
        }
        ephemeral.push(...receiptEvents(receipts));
        reached.receipts = read.reached;
      }

      const presenceSince = since('presence');
      const presenceBudget = MAX_EPHEMERAL_PER_TRANSACTION - ephemeral.length;
      if (presenceSince !== undefined && presenceBudget > 0) {
        const read = await readStream<{ user_id: string; presence: string; status_msg: string | null; last_active_ts: number | string; stream_pos: number | string }>(
          `SELECT user_id, presence, status_msg, last_active_ts, stream_pos FROM presence
           WHERE stream_pos > $1 AND stream_pos <= $2 ORDER BY stream_pos LIMIT $3`, presenceSince, upTo.presence, presenceBudget);
        const now = Date.now();
        for (const row of read.rows) {
          if (!(await sharesRoomWithBridge(registration, row.user_id))) continue;
          const state: PresenceState = {
            userId: row.user_id, presence: row.presence as PresenceState['presence'], lastActiveTs: Number(row.last_active_ts),
            position: Number(row.stream_pos), ...(row.status_msg === null ? {} : { statusMsg: row.status_msg }),
          };
          ephemeral.push(presenceEvent(state, now));
        }
        reached.presence = read.reached;
      }

      const toDeviceSince = since('to_device');
      if (toDeviceSince !== undefined) {
        const read = await readStream<{ user_id: string; device_id: string; sender: string; type: string; content: JsonObject; stream_pos: number | string }>(
          `SELECT user_id, device_id, sender, type, content, stream_pos FROM to_device_inbox
           WHERE stream_pos > $1 AND stream_pos <= $2 ORDER BY stream_pos, user_id, device_id LIMIT $3`,
          toDeviceSince, upTo.to_device, MAX_TO_DEVICE_PER_TRANSACTION);
        for (const row of read.rows) {
          if (!isInterestedInUser(registration, row.user_id)) continue;
          toDevice.push(toDeviceEvent({ userId: row.user_id, deviceId: row.device_id, sender: row.sender, type: row.type, content: row.content }));
        }
        reached.to_device = read.reached;
      }
      const deviceListsSince = since('device_lists');
      const changed = new Set<string>();
      if (deviceListsSince !== undefined) {
        const read = await readStream<{ user_id: string; stream_pos: number | string }>(
          `SELECT user_id, stream_pos FROM device_list_changes
           WHERE stream_pos > $1 AND stream_pos <= $2 ORDER BY stream_pos LIMIT $3`, deviceListsSince, upTo.device_lists, DEVICE_LIST_CHANGES_PER_READ);
        for (const row of read.rows) if (!changed.has(row.user_id) && await followsDevicesOf(registration, row.user_id)) changed.add(row.user_id);
        reached.device_lists = read.reached;
      }
      return {
        extras: { ephemeral, toDevice, ...(changed.size === 0 ? {} : { deviceLists: { changed: [...changed], left: [] } }) },
        streams: reached as StreamPositions,
      };
    },

    async deviceKeys(registration, events, extras) {
      const roomsOf = new Map<string, string[]>();
      for (const event of [...events, ...extras.ephemeral]) {
        if (typeof event.room_id !== 'string' || roomsOf.has(event.room_id)) continue;
        const members = [...(await currentRoom(event.room_id)).localMembers];
        roomsOf.set(event.room_id, members.filter((member) => isInterestedInUser(registration, member)));
      }
      const oneTimeKeyCounts: Record<string, Record<string, Record<string, number>>> = {};
      const unusedFallbackKeyTypes: Record<string, Record<string, string[]>> = {};
      for (const userId of keyCountUsers(registration, events, extras, (roomId) => roomsOf.get(roomId) ?? [])) {
        for (const { deviceId } of await options.devices.listDevices(userId)) {
          const counts = await options.keyCounts(userId, deviceId);
          (oneTimeKeyCounts[userId] ??= {})[deviceId] = counts.oneTimeKeyCounts;
          (unusedFallbackKeyTypes[userId] ??= {})[deviceId] = counts.unusedFallbackKeyTypes;
        }
      }
      return { oneTimeKeyCounts, unusedFallbackKeyTypes };
    },

    subscribe(wake) {
      const pending = new Map<string, NodeJS.Timeout>();
      const unsubscribe = options.tap.onNotify((keys) => {
        for (const registration of receiving) {
          // Rooms matter for typing and receipts only; device list changes notify users.
          if (!keys.some((key) => mayConcern(registration, key) && (registration.receiveEphemeral || key.startsWith('@')))) continue;
          const candidates = typingRooms.get(registration.id)!;
          for (const key of keys) if (key.startsWith('!')) candidates.set(key, true);
          if (pending.has(registration.id)) continue;
          const timer = setTimeout(() => {
            pending.delete(registration.id);
            wake(registration.id);
          }, wakeDelayMs);
          timer.unref();
          pending.set(registration.id, timer);
        }
      });
      return () => {
        unsubscribe();
        for (const timer of pending.values()) clearTimeout(timer);
        pending.clear();
      };
    },
  };
};
