/** The edge of a room's history (domain/ports/backfill.ts) over the rooms read model. */
import type { BackfillReadModel, SqlExecutor } from '../../domain/index.ts';
import { EVENT_COLUMNS, hydrate, type EventRow } from './rows.ts';

export const createBackfillQueries = (db: SqlExecutor): BackfillReadModel => ({
  async earliestEvents(roomId, limit) {
    const { rows } = await db.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM room_events WHERE room_id = $1 AND NOT outlier ORDER BY log_offset ASC LIMIT $2`, [roomId, limit]);
    return hydrate(db, rows);
  },

  async timelineEventIds(eventIds) {
    if (eventIds.length === 0) return new Set();
    const { rows } = await db.query<{ event_id: string }>(
      'SELECT event_id FROM room_events WHERE event_id = ANY($1::text[]) AND NOT outlier', [[...new Set(eventIds)]]);
    return new Set(rows.map((row) => row.event_id));
  },
});
