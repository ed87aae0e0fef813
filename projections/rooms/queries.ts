/**
 * The rooms read port (domain/ports/rooms.ts RoomReadModel) over the tables the rooms projection
 * writes. Works on PostgreSQL and PGlite alike.
 */
import type { AwaitingRedaction, JsonObject, SqlExecutor, SqlParam } from '../../domain/index.ts';
import type {
  EventFilter, MembershipChange, MessagesQuery, OffsetRange, RoomInfo, RoomReadModel, RoomSnapshot, StateValueChange,
  StoredEvent, VisibilityHistory,
} from '../../domain/app/rooms/index.ts';
import { hasChildrenColumn } from './relationQueries.ts';
import type { RecentEvents } from './recentEvents.ts';
import { EVENT_COLUMNS, hydrate, type EventRow } from './rows.ts';
import { createTransactionLookup, transactionsOfDevice } from './transactionLookups.ts';

/** `*` is a wildcard in filter type lists (client-server-api § Filtering). */
const likePattern = (glob: string): string => glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');

/** Adds a filter's conditions to `where`, pushing their parameters. */
const filterConditions = (filter: EventFilter | undefined, where: string[], values: SqlParam[]): void => {
  if (filter === undefined) return;
  const param = (value: SqlParam): string => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.types !== undefined) {
    where.push(filter.types.length === 0 ? 'false' : `type LIKE ANY(${param(filter.types.map(likePattern))}::text[])`);
  }
  if (filter.notTypes !== undefined && filter.notTypes.length > 0) {
    where.push(`NOT (type LIKE ANY(${param(filter.notTypes.map(likePattern))}::text[]))`);
  }
  if (filter.senders !== undefined) where.push(`sender = ANY(${param([...filter.senders])}::text[])`);
  if (filter.notSenders !== undefined && filter.notSenders.length > 0) where.push(`sender <> ALL(${param([...filter.notSenders])}::text[])`);
  if (filter.containsUrl === true) where.push(`jsonb_typeof(pdu->'content'->'url') = 'string'`);
  if (filter.containsUrl === false) where.push(`jsonb_typeof(pdu->'content'->'url') IS DISTINCT FROM 'string'`);
};

/** Keeps only offsets inside `ranges` (history visibility), bounding the index scan by their ends. */
const rangeConditions = (ranges: readonly OffsetRange[], where: string[], values: SqlParam[]): void => {
  values.push(ranges[0]!.from, ranges[ranges.length - 1]!.to);
  where.push(`log_offset >= $${values.length - 1}`, `log_offset < $${values.length}`);
  if (ranges.length === 1) return;
  values.push(ranges.map((range) => range.from), ranges.map((range) => range.to));
  where.push(`EXISTS (SELECT 1 FROM unnest($${values.length - 1}::bigint[], $${values.length}::bigint[]) AS v(lo, hi)
    WHERE log_offset >= v.lo AND log_offset < v.hi)`);
};

interface SnapshotRow {
  room_version: string;
  log_partition: number;
  last_offset: number | string;
  forward_extremities: string[];
  max_depth: number | string;
  last_event_id: string | null;
  state: { type: string; stateKey: string; eventId: string }[];
  events: { eventId: string; pdu: Record<string, never> }[];
}

/** With `recent`, the timeline pages the newest events answer are read from memory (recentEvents.ts). */
export const createRoomQueries = (db: SqlExecutor, recent?: RecentEvents): RoomReadModel => {
  const transactionLookup = createTransactionLookup(db);
  const eventsWhere = async (where: string, values: readonly SqlParam[], tail = ''): Promise<StoredEvent[]> => {
    const { rows } = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM room_events WHERE ${where} ${tail}`, values);
    return hydrate(db, rows);
  };
  const eventsById = async (ids: readonly string[]): Promise<StoredEvent[]> =>
    ids.length === 0 ? [] : eventsWhere('event_id = ANY($1::text[])', [[...ids]], 'ORDER BY log_offset');

  const stateIdsAt = async (roomId: string, offset: number): Promise<string[]> => {
    // Current state, with every key changed after `offset` rolled back to what its first later
    // change replaced.
    const { rows } = await db.query<{ event_id: string }>(
      `WITH later AS (
         SELECT DISTINCT ON (type, state_key) type, state_key, replaces FROM room_state_changes
         WHERE room_id = $1 AND log_offset > $2 ORDER BY type, state_key, log_offset ASC)
       SELECT c.event_id FROM room_current_state c WHERE c.room_id = $1
         AND NOT EXISTS (SELECT 1 FROM later l WHERE l.type = c.type AND l.state_key = c.state_key)
       UNION ALL SELECT replaces FROM later WHERE replaces IS NOT NULL`,
      [roomId, offset],
    );
    return rows.map((row) => row.event_id);
  };

  const messages = async (roomId: string, query: MessagesQuery): Promise<StoredEvent[]> => {
    if (query.visible !== undefined && query.visible.length === 0) return [];
    const held = recent?.messages(roomId, query);
    if (held !== undefined) return held;
    const values: SqlParam[] = [roomId, query.from];
    const where = ['room_id = $1', 'NOT outlier', query.dir === 'b' ? 'log_offset < $2' : 'log_offset >= $2'];
    if (query.to !== undefined) {
      values.push(query.to);
      where.push(query.dir === 'b' ? `log_offset >= $${values.length}` : `log_offset < $${values.length}`);
    }
    if (query.minOffset !== undefined) {
      values.push(query.minOffset);
      where.push(`log_offset >= $${values.length}`);
    }
    if (query.maxOffset !== undefined) {
      values.push(query.maxOffset);
      where.push(`log_offset <= $${values.length}`);
    }
    if (query.visible !== undefined) rangeConditions(query.visible, where, values);
    filterConditions(query.filter, where, values);
    values.push(query.limit);
    // Each event says whether it has bundled children (StoredEvent.hasChildren), probed in this
    // statement for the page's rows only, so serving the page costs no second round trip.
    const order = `ORDER BY log_offset ${query.dir === 'b' ? 'DESC' : 'ASC'}`;
    const { rows } = await db.query<EventRow>(
      `SELECT page.*, ${hasChildrenColumn('page.event_id', 'page.room_id')} AS has_children
       FROM (SELECT ${EVENT_COLUMNS} FROM room_events WHERE ${where.join(' AND ')} ${order} LIMIT $${values.length}) AS page ${order}`,
      values);
    return hydrate(db, rows);
  };

  return {
    async snapshot(roomId): Promise<RoomSnapshot | undefined> {
      // One statement, so the snapshot is consistent even while the projection commits batches.
      const { rows } = await db.query<SnapshotRow>(
        `SELECT r.room_version, r.log_partition, r.last_offset, r.forward_extremities, r.max_depth, r.last_event_id,
           COALESCE((SELECT jsonb_agg(jsonb_build_object('type', s.type, 'stateKey', s.state_key, 'eventId', s.event_id))
                     FROM room_current_state s WHERE s.room_id = r.room_id), '[]'::jsonb) AS state,
           COALESCE((SELECT jsonb_agg(jsonb_build_object('eventId', e.event_id, 'pdu', e.pdu)) FROM room_events e
                     WHERE e.event_id IN (SELECT event_id FROM room_current_state WHERE room_id = r.room_id
                                          UNION SELECT jsonb_array_elements_text(r.forward_extremities))), '[]'::jsonb) AS events
         FROM rooms r WHERE r.room_id = $1`,
        [roomId],
      );
      const row = rows[0];
      if (row === undefined) return undefined;
      return {
        roomId,
        roomVersion: row.room_version,
        partition: Number(row.log_partition),
        offset: Number(row.last_offset),
        state: row.state,
        events: row.events,
        forwardExtremities: row.forward_extremities,
        maxDepth: Number(row.max_depth),
        lastEventId: row.last_event_id,
      };
    },

    async roomInfo(roomId): Promise<RoomInfo | undefined> {
      const { rows } = await db.query<{ room_version: string; creator: string; room_type: string | null; log_partition: number; last_offset: number | string }>(
        'SELECT room_version, creator, room_type, log_partition, last_offset FROM rooms WHERE room_id = $1', [roomId]);
      const row = rows[0];
      return row === undefined ? undefined : {
        roomId, roomVersion: row.room_version, creator: row.creator, roomType: row.room_type,
        partition: Number(row.log_partition), lastOffset: Number(row.last_offset),
      };
    },

    async event(eventId) {
      return (await eventsWhere('event_id = $1', [eventId]))[0];
    },

    eventIdForTransaction: transactionLookup,
    transactionsOfDevice: (roomId, userId, deviceId, limit) => transactionsOfDevice(db, roomId, userId, deviceId, limit),

    currentState: (roomId) =>
      eventsWhere('event_id IN (SELECT event_id FROM room_current_state WHERE room_id = $1)', [roomId], 'ORDER BY log_offset'),

    async stateEvent(roomId, type, stateKey) {
      return (await eventsWhere(
        'event_id = (SELECT event_id FROM room_current_state WHERE room_id = $1 AND type = $2 AND state_key = $3)',
        [roomId, type, stateKey]))[0];
    },

    stateAt: async (roomId, offset) => eventsById(await stateIdsAt(roomId, offset)),

    async members(roomId, offset) {
      if (offset === undefined) {
        return eventsWhere('event_id IN (SELECT event_id FROM room_memberships WHERE room_id = $1)', [roomId], 'ORDER BY log_offset');
      }
      return (await eventsById(await stateIdsAt(roomId, offset))).filter((event) => event.type === 'm.room.member');
    },

    async membershipHistory(roomId, userId): Promise<MembershipChange[]> {
      const { rows } = await db.query<{ log_offset: number | string; event_id: string; membership: string | null }>(
        `SELECT c.log_offset, c.event_id, e.pdu->'content'->>'membership' AS membership
         FROM room_state_changes c JOIN room_events e ON e.event_id = c.event_id
         WHERE c.room_id = $1 AND c.type = 'm.room.member' AND c.state_key = $2 ORDER BY c.log_offset`,
        [roomId, userId]);
      return rows.map((row) => ({ offset: Number(row.log_offset), eventId: row.event_id, membership: row.membership ?? 'leave' }));
    },

    async visibilityHistory(roomId, userId, upTo): Promise<VisibilityHistory> {
      const { rows } = await db.query<{ log_offset: number | string; type: string; value: string | null; at_event: boolean }>(
        `SELECT c.log_offset, c.type, CASE WHEN c.type = 'm.room.member' THEN e.pdu->'content'->>'membership'
           ELSE e.pdu->'content'->>'history_visibility' END AS value, COALESCE(e.log_offset = c.log_offset, false) AS at_event
         FROM room_state_changes c LEFT JOIN room_events e ON e.event_id = c.event_id
         WHERE c.room_id = $1 AND c.log_offset < $3
           AND ((c.type = 'm.room.history_visibility' AND c.state_key = '') OR (c.type = 'm.room.member' AND c.state_key = $2))
         ORDER BY c.log_offset`,
        [roomId, userId, upTo ?? Number.MAX_SAFE_INTEGER]);
      const change = (row: (typeof rows)[number]): StateValueChange => ({ offset: Number(row.log_offset), value: row.value, atEvent: row.at_event });
      return {
        historyVisibility: rows.filter((row) => row.type !== 'm.room.member').map(change),
        membership: rows.filter((row) => row.type === 'm.room.member').map(change),
      };
    },

    async roomsWithMembership(userId, memberships) {
      const { rows } = await db.query<{ room_id: string }>(
        'SELECT room_id FROM room_memberships WHERE user_id = $1 AND membership = ANY($2::text[]) ORDER BY room_id',
        [userId, [...memberships]]);
      return rows.map((row) => row.room_id);
    },

    async awaitingRedactions(roomId, eventIds) {
      const { rows } = await db.query<{ redaction_event_id: string; target_event_id: string; sender: string; sender_may_redact: boolean }>(
        `SELECT redaction_event_id, target_event_id, sender, sender_may_redact FROM room_redactions
          WHERE room_id = $1 AND target_event_id = ANY($2::text[]) ORDER BY redaction_event_id`,
        [roomId, [...eventIds]]);
      const byTarget = new Map<string, AwaitingRedaction[]>();
      for (const row of rows) {
        const waiting = byTarget.get(row.target_event_id) ?? [];
        waiting.push({ eventId: row.redaction_event_id, roomId, sender: row.sender, senderMayRedact: row.sender_may_redact });
        byTarget.set(row.target_event_id, waiting);
      }
      return byTarget;
    },

    messages,

    async strippedState(eventId) {
      const { rows } = await db.query<{ events: JsonObject[] }>('SELECT events FROM room_stripped_state WHERE event_id = $1', [eventId]);
      return rows[0]?.events;
    },

    async around(roomId, offset, before, after, filter, visible) {
      const narrowed = { ...(filter === undefined ? {} : { filter }), ...(visible === undefined ? {} : { visible }) };
      const [b, a] = await Promise.all([
        messages(roomId, { dir: 'b', from: offset, limit: before, ...narrowed }),
        messages(roomId, { dir: 'f', from: offset + 1, limit: after, ...narrowed }),
      ]);
      return { before: b, after: a };
    },
  };
};
