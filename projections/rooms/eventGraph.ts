/**
 * The room DAG for federation (domain/ports/roomEvents.ts) over the rooms read model: events by id
 * including outliers, and the state after an event, rebuilt from the room's state changes.
 */
import { stateKeyOf, type RoomEventGraph, type SqlExecutor, type StateChange, type StateMap } from '../../domain/index.ts';
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
    if (row === undefined || row.outlier) return undefined;
    const state: Map<string, string> = new Map();
    for (const entry of await stateKeysAt(db, row.room_id, Number(row.log_offset))) state.set(stateKeyOf(entry.type, entry.state_key), entry.event_id);
    for (const change of row.state_after_delta ?? []) {
      const key = stateKeyOf(change.type, change.stateKey);
      if (change.eventId === null) state.delete(key);
      else state.set(key, change.eventId);
    }
    return state as StateMap;
  },
});
