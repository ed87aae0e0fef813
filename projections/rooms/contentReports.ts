/**
 * Reports of events, rooms and users (client-server-api § Reporting content), kept for the
 * server's administrators. Written by the use-cases, not by the projection: a report is no room
 * event, so a rebuild of the rooms read model keeps them.
 */
import type { SqlExecutor } from '../../domain/index.ts';
import type { ContentReports } from '../../domain/app/rooms/index.ts';

export const CONTENT_REPORTS_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS content_reports (
    id bigserial PRIMARY KEY,
    reporter text NOT NULL,
    room_id text,
    event_id text,
    user_id text,
    reason text,
    received_ts bigint NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS content_reports_room ON content_reports (room_id)',
];

export const ensureContentReportsSchema = async (db: SqlExecutor): Promise<void> => {
  for (const statement of CONTENT_REPORTS_SCHEMA) await db.query(statement);
};

export const createSqlContentReports = (db: SqlExecutor): ContentReports => ({
  async add(report) {
    await db.query(
      'INSERT INTO content_reports (reporter, room_id, event_id, user_id, reason, received_ts) VALUES ($1, $2, $3, $4, $5, $6)',
      [report.reporter, report.roomId, report.eventId, report.userId, report.reason, report.receivedTs]);
  },
});
