/**
 * The room DAG for federation (domain/ports/roomEvents.ts) over the rooms read model: events by id
 * including outliers, the state after an event, rebuilt from the room's state changes, and the
 * edges (prev_events, auth_events) the federation walks follow, read from the stored PDUs.
 */
import { createEventIdOfRoom, stateKeyOf, type GraphNode, type RoomId, type RoomEventGraph, type SqlExecutor, type StateChange, type StateMap } from '../../domain/index.ts';
import { EVENT_COLUMNS, hydrate, type EventRow } from './rows.ts';

/** The room's state at a log offset as (type, state key, event id): current state rolled back past `offset`. */
export const stateKeysAt = async (db: SqlExecutor, roomId: string, offset: number): Promise<{ type: string; state_key: string; event_id: string }[]> => {
  const { rows } = await db.query<{ type: string; state_key: string; event_id: string }>(
    `WITH later AS (
       SELECT DISTINCT ON (type, state_key) type, state_key, replaces FROM room_state_changes
       WHERE room_id = $1 AND log_offset > $2 ORDER BY type, state_key, log_offset ASC)
     SELECT c.type, c.state_key, c.event_id FROM room_current_state c WHERE c.room_id = $1
       AND NOT EXISTS (SELECT 1 FROM later l WHERE l.type = c.type AND l.state_key = c.state_key)
     UNION ALL SELECT type, state_key, replaces FROM later WHERE replaces IS NOT NULL`,
    [roomId, offset],
  );
  return rows;
};

/**
 * A PDU's references as ids: since room v3 `["$id"]`, before `[["$id", {"sha256": …}]]`. Stored
 * PDUs passed the format checks, but redaction keeps these keys whatever they held, so anything
 * else is skipped rather than trusted.
 */
const AUTH_EVENT_IDS = `LATERAL (SELECT CASE WHEN jsonb_typeof(ref) = 'array' THEN ref->>0 ELSE ref#>>'{}' END AS id
  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(e.pdu->'auth_events') = 'array' THEN e.pdu->'auth_events' ELSE '[]'::jsonb END) AS ref) a`;

const referencedIds = (value: unknown): string[] => {
  if (!Array.isArray(value)) return [];
  return value.flatMap((entry: unknown) => {
    const id: unknown = Array.isArray(entry) ? entry[0] : entry;
    return typeof id === 'string' ? [id] : [];
  });
};

export const createRoomEventGraph = (db: SqlExecutor): RoomEventGraph => ({
  async eventsByIds(eventIds) {
    if (eventIds.length === 0) return [];
    const { rows } = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM room_events WHERE event_id = ANY($1::text[])`, [[...new Set(eventIds)]]);
    return hydrate(db, rows);
  },

  async stateAfterEvent(eventId) {
    const { rows } = await db.query<{ room_id: string; log_offset: string | number; outlier: boolean; state_after_delta: StateChange[] | null }>(
      'SELECT room_id, log_offset, outlier, state_after_delta FROM room_events WHERE event_id = $1', [eventId]);
    const row = rows[0];
    // An outlier has no known state after it, unless it is a soft-failed event (records.ts), whose
    // delta is always stored.
    if (row === undefined || (row.outlier && row.state_after_delta === null)) return undefined;
    const state: Map<string, string> = new Map();
    for (const entry of await stateKeysAt(db, row.room_id, Number(row.log_offset))) state.set(stateKeyOf(entry.type, entry.state_key), entry.event_id);
    for (const change of row.state_after_delta ?? []) {
      const key = stateKeyOf(change.type, change.stateKey);
      if (change.eventId === null) state.delete(key);
      else state.set(key, change.eventId);
    }
    return state as StateMap;
  },

  async nodes(eventIds) {
    if (eventIds.length === 0) return [];
    const { rows } = await db.query<{
      event_id: string; room_id: string; depth: string | number; log_offset: string | number; outlier: boolean; prev_events: unknown;
    }>(
      `SELECT event_id, room_id, depth, log_offset, outlier, pdu->'prev_events' AS prev_events FROM room_events WHERE event_id = ANY($1::text[])`,
      [[...new Set(eventIds)]]);
    return rows.map((row): GraphNode => ({
      eventId: row.event_id, roomId: row.room_id, depth: Number(row.depth), offset: Number(row.log_offset), outlier: row.outlier,
      prevEventIds: referencedIds(row.prev_events),
    }));
  },

  async authChainIds(roomId, eventIds) {
    if (eventIds.length === 0) return [];
    // Since v12 the create event is in no event's auth_events: the room id names it. It is in
    // every other event's auth chain all the same (as Synapse's auth_event_ids() adds it), or
    // the asker could not check the chain.
    const implicitCreate = createEventIdOfRoom(roomId as RoomId) ?? null;
    // One recursive statement however deep the chain; UNION (not UNION ALL) drops ids already
    // found, so the walk ends even on a cyclic graph.
    const { rows } = await db.query<{ event_id: string }>(
      `WITH RECURSIVE chain(event_id) AS (
         SELECT a.id FROM room_events e, ${AUTH_EVENT_IDS} WHERE e.room_id = $1 AND e.event_id = ANY($2::text[])
         UNION
         SELECT a.id FROM chain c JOIN room_events e ON e.event_id = c.event_id AND e.room_id = $1, ${AUTH_EVENT_IDS}
       )
       SELECT e.event_id FROM room_events e WHERE e.room_id = $1 AND (e.event_id IN (SELECT event_id FROM chain)
         OR (e.event_id = $3 AND EXISTS (SELECT 1 FROM room_events s WHERE s.room_id = $1 AND s.event_id = ANY($2::text[]) AND s.event_id <> $3)))`,
      [roomId, [...new Set(eventIds)], implicitCreate]);
    return rows.map((row) => row.event_id);
  },

  async serverVisibilityHistory(roomId, serverName) {
    // A user id's server name is everything after its first colon (it may carry a port).
    const { rows } = await db.query<{ log_offset: number | string; type: string; state_key: string; value: string | null; at_event: boolean }>(
      `SELECT c.log_offset, c.type, c.state_key, CASE WHEN c.type = 'm.room.member' THEN e.pdu->'content'->>'membership'
         ELSE e.pdu->'content'->>'history_visibility' END AS value, COALESCE(e.log_offset = c.log_offset, false) AS at_event
       FROM room_state_changes c LEFT JOIN room_events e ON e.event_id = c.event_id
       WHERE c.room_id = $1 AND ((c.type = 'm.room.history_visibility' AND c.state_key = '')
         OR (c.type = 'm.room.member' AND substr(c.state_key, strpos(c.state_key, ':') + 1) = $2))
       ORDER BY c.log_offset`,
      [roomId, serverName]);
    const change = (row: (typeof rows)[number]) => ({ offset: Number(row.log_offset), value: row.value, atEvent: row.at_event });
    return {
      historyVisibility: rows.filter((row) => row.type !== 'm.room.member').map(change),
      memberships: rows.filter((row) => row.type === 'm.room.member').map((row) => ({ ...change(row), userId: row.state_key })),
    };
  },

  async serverHasJoinedMember(roomId, serverName) {
    const { rows } = await db.query<{ joined: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM room_memberships WHERE room_id = $1 AND membership = 'join'
         AND substr(user_id, strpos(user_id, ':') + 1) = $2) AS joined`,
      [roomId, serverName]);
    return rows[0]?.joined === true;
  },
});
