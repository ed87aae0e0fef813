/**
 * The newest events of each busy room, held in memory as the rooms projection commits them, so the
 * reads every /sync wake-up makes — a room's timeline page below its new position and the unread
 * window behind the notification counts — are answered without a round trip to the database.
 *
 * What is held is a pure function of the log, like the rows themselves: for each partition, the
 * records of every batch the projection committed since this process started watching it, checked
 * contiguous by offset (a gap — a batch committed by another process, a rebalance — forgets the
 * partition's rooms and starts again at the gap's end). Records at an offset never change, and a
 * committed position means every record below it is applied, so the events held for a room are
 * exactly its rows in [`start`, the partition's observed end), as the rooms projection wrote them.
 *
 * Only rows no later record can change are held: local, accepted (v2), non-state, unredacted
 * events carrying no relation, whose type, sender and transaction id need no U+0000 replacement.
 * Any other record of a room (state, a redaction, an edit, a reaction, a remote or backfilled
 * event, …) may change rows already written or be read through more than its own row, so it starts
 * the room again after itself; what happens outside the log (erasure, retention purges) forgets the
 * room or everything (`forgetRoom`, `forgetAll`). A read the held events cannot answer exactly
 * returns undefined and goes to the database.
 */
import { BoundedMap, isJsonObject, isRoomRecord, type LogEntry } from '../../domain/index.ts';
import type { EventFilter, MessagesQuery, OffsetRange, StoredEvent } from '../../domain/app/rooms/index.ts';

/** Rooms held (least recently written forgotten first) and events held per room. */
export const RECENT_ROOMS = 1_000;
export const RECENT_EVENTS_PER_ROOM = 128;

interface HeldRoom {
  readonly partition: number;
  /** Every row of the room at offsets in [start, the partition's end) is in `events`. */
  start: number;
  /** Oldest first; the unread form (no `hasChildren`, as the unread window's rows) and the timeline form. */
  events: { readonly unread: StoredEvent; readonly timeline: StoredEvent }[];
  /** The event ids of `events`. */
  readonly ids: Set<string>;
}

export interface RecentEvents {
  /** A batch of the rooms projection committed: `entries` (some perhaps applied before) up to `nextOffset`. */
  observe(batch: { readonly partition: number; readonly entries: readonly LogEntry[]; readonly nextOffset: number }): void;
  /** RoomReadModel.messages from memory, or undefined when the held events cannot answer it exactly. */
  messages(roomId: string, query: MessagesQuery): StoredEvent[] | undefined;
  /** SyncReadModel.unreadWindow without state from memory, or undefined. */
  unreadWindow(roomId: string, userId: string | null, after: number, before: number, limit?: number): StoredEvent[] | undefined;
  /** Rows of the room changed outside the log (a retention purge). */
  forgetRoom(roomId: string): void;
  /** Rows changed outside the log in rooms not named (a user's erasure). */
  forgetAll(): void;
}

const hasNul = (value: string | null): boolean => value !== null && value.includes('\u0000');

/** The row the rooms projection wrote for this record, when it is one no later record changes. */
const heldRowOf = (entry: LogEntry): StoredEvent | undefined => {
  const record = entry.value;
  if (!isRoomRecord(record) || record.type !== 'pdu.accepted' || record.v !== 2) return undefined;
  if (record.redaction !== null || record.redactedBy.length > 0 || record.stateDelta.length > 0 || record.local === null) return undefined;
  const pdu = record.pdu;
  if (pdu.state_key !== undefined || typeof pdu.type !== 'string' || pdu.type === 'm.room.redaction' || typeof pdu.sender !== 'string') return undefined;
  if (!isJsonObject(pdu.content) || Object.hasOwn(pdu.content, 'm.relates_to')) return undefined;
  const { userId, deviceId, txnId } = record.local;
  if (hasNul(pdu.type) || hasNul(pdu.sender) || hasNul(txnId)) return undefined;
  return Object.freeze({
    eventId: record.eventId,
    roomId: record.roomId,
    roomVersion: record.roomVersion,
    partition: entry.partition,
    offset: entry.offset,
    type: pdu.type,
    stateKey: null,
    sender: pdu.sender,
    originServerTs: typeof pdu.origin_server_ts === 'number' ? pdu.origin_server_ts : 0,
    pdu,
    redactedBecause: null,
    local: { userId, deviceId, txnId },
    replacesState: null,
    prevContent: null,
  });
};

/** `*` matches any run of characters (client-server-api § Filtering), as the SQL's LIKE patterns. */
const globMatches = (glob: string, value: string): boolean => {
  const parts = glob.split('*');
  if (parts.length === 1) return glob === value;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!value.startsWith(first) || value.length < first.length + last.length || !value.endsWith(last)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (const part of parts.slice(1, -1)) {
    const found = value.indexOf(part, at);
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
};

/** Whether the event passes the filter, as queries.ts `filterConditions` decides in SQL. */
const passes = (filter: EventFilter | undefined, event: StoredEvent): boolean => {
  if (filter === undefined) return true;
  if (filter.types !== undefined && !filter.types.some((glob) => globMatches(glob, event.type))) return false;
  if (filter.notTypes !== undefined && filter.notTypes.some((glob) => globMatches(glob, event.type))) return false;
  if (filter.senders !== undefined && !filter.senders.includes(event.sender)) return false;
  if (filter.notSenders !== undefined && filter.notSenders.includes(event.sender)) return false;
  if (filter.containsUrl !== undefined) {
    const content = event.pdu.content;
    if ((isJsonObject(content) && typeof content.url === 'string') !== filter.containsUrl) return false;
  }
  return true;
};

/** The index of the first held event above `offset` (events are in offset order). */
const firstAbove = (events: HeldRoom['events'], offset: number): number => {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (events[middle]!.unread.offset <= offset) low = middle + 1;
    else high = middle;
  }
  return low;
};

/** Inside the ranges, and inside their outer bounds, as queries.ts `rangeConditions` asks. */
const isVisible = (ranges: readonly OffsetRange[], offset: number): boolean =>
  ranges.length > 0 && offset >= ranges[0]!.from && offset < ranges[ranges.length - 1]!.to
  && ranges.some((range) => offset >= range.from && offset < range.to);

export const createRecentEvents = (): RecentEvents => {
  const rooms = new BoundedMap<string, HeldRoom>(RECENT_ROOMS);
  /** Per partition: the offset up to which every committed record was observed. */
  const observedTo = new Map<number, number>();

  const forgetPartition = (partition: number): void => {
    for (const [roomId, room] of rooms) if (room.partition === partition) rooms.delete(roomId);
  };

  const hold = (entry: LogEntry): void => {
    const roomId = isRoomRecord(entry.value) ? entry.value.roomId : undefined;
    if (roomId === undefined) {
      // Not a room record: the projection stops on it; nothing of the partition is trusted.
      forgetPartition(entry.partition);
      return;
    }
    const row = heldRowOf(entry);
    const room = rooms.get(roomId);
    // An event id twice would be one row (ON CONFLICT DO NOTHING): start again rather than guess.
    if (row === undefined || (room !== undefined && (room.partition !== entry.partition || room.ids.has(row.eventId)))) {
      rooms.set(roomId, { partition: entry.partition, start: entry.offset + 1, events: [], ids: new Set() });
      return;
    }
    const held = room ?? { partition: entry.partition, start: entry.offset, events: [], ids: new Set<string>() };
    held.events.push({ unread: row, timeline: Object.freeze({ ...row, hasChildren: false }) });
    held.ids.add(row.eventId);
    if (held.events.length > RECENT_EVENTS_PER_ROOM) {
      const dropped = held.events.splice(0, held.events.length - RECENT_EVENTS_PER_ROOM / 2);
      for (const { unread } of dropped) held.ids.delete(unread.eventId);
      held.start = dropped[dropped.length - 1]!.unread.offset + 1;
    }
    rooms.set(roomId, held);
  };

  /** The room's held events when the partition was observed up to `upper` (exclusive). */
  const heldBelow = (roomId: string, upper: number): HeldRoom | undefined => {
    const room = rooms.get(roomId);
    if (room === undefined) return undefined;
    const end = observedTo.get(room.partition);
    return end !== undefined && upper <= end ? room : undefined;
  };

  return {
    observe({ partition, entries, nextOffset }) {
      const from = observedTo.get(partition);
      if (from !== undefined && nextOffset <= from) return;
      const fresh = from === undefined ? [] : entries.filter((entry) => entry.offset >= from && entry.offset < nextOffset);
      const contiguous = from !== undefined && fresh.length === nextOffset - from && fresh.every((entry, i) => entry.offset === from + i);
      if (!contiguous) {
        forgetPartition(partition);
        observedTo.set(partition, nextOffset);
        return;
      }
      for (const entry of fresh) hold(entry);
      observedTo.set(partition, nextOffset);
    },

    messages(roomId, query) {
      if (query.dir !== 'b') return undefined;
      const room = heldBelow(roomId, query.from);
      if (room === undefined) return undefined;
      const visible = query.visible;
      const page: StoredEvent[] = [];
      for (let i = room.events.length - 1; i >= 0 && page.length < query.limit; i--) {
        const event = room.events[i]!.timeline;
        if (event.offset >= query.from) continue;
        if ((query.to !== undefined && event.offset < query.to) || (query.minOffset !== undefined && event.offset < query.minOffset)) break;
        if (query.maxOffset !== undefined && event.offset > query.maxOffset) continue;
        if (visible !== undefined && !isVisible(visible, event.offset)) continue;
        if (passes(query.filter, event)) page.push(event);
      }
      if (page.length >= query.limit) return page;
      // Short of the limit: exact only if nothing below the held events could belong to the page.
      const lowest = Math.max(query.to ?? -Infinity, query.minOffset ?? -Infinity, visible === undefined || visible.length === 0 ? -Infinity : visible[0]!.from);
      return lowest >= room.start ? page : undefined;
    },

    unreadWindow(roomId, userId, after, before, limit) {
      const room = heldBelow(roomId, before);
      if (room === undefined || after + 1 < room.start) return undefined;
      const events: StoredEvent[] = [];
      for (let i = firstAbove(room.events, after); i < room.events.length; i++) {
        const event = room.events[i]!.unread;
        if ((limit !== undefined && events.length >= limit) || event.offset >= before) break;
        // Held events are never state or redactions: the user's own are left out.
        if (userId === null || event.sender !== userId) events.push(event);
      }
      return events;
    },

    forgetRoom(roomId) {
      rooms.delete(roomId);
    },

    forgetAll() {
      rooms.clear();
    },
  };
};
