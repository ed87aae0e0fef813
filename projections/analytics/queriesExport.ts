/**
 * The `events` export: metadata rows streamed from ClickHouse as it reads them (JSONEachRow),
 * never gathered in memory; at most `limit` rows. No ORDER BY: sorting would make ClickHouse hold
 * every row before the first one leaves. Rows come in the table's order (by month received, then
 * log position: a room's events in the order it accepted them).
 */
import type { ExportEventRow, ExportEventsQuery } from '../../domain/app/analytics/index.ts';
import { chNumber, chString } from '../runtime/index.ts';
import type { AnalyticsClickHouse } from './queriesClient.ts';
import { msRange } from './queriesClient.ts';
import { ANALYTICS_EVENTS_TABLE } from './schema.ts';

export const exportEventsSql = (query: ExportEventsQuery): string => {
  const where = [msRange(query.from, query.to)];
  if (query.roomId !== undefined) where.push(`room_id = ${chString(query.roomId)}`);
  if (query.sender !== undefined) where.push(`sender = ${chString(query.sender)}`);
  if (query.type !== undefined) where.push(`event_type = ${chString(query.type)}`);
  if (query.status !== undefined) where.push(`status = ${chString(query.status)}`);
  return `SELECT event_id, room_id, room_version, event_type AS type, msgtype, has_state_key AS is_state, membership, encrypted,
      relation_type, thread_root, content_bytes, sender, sender_server, origin, origin_server_ms AS origin_server_ts,
      toUnixTimestamp(accepted_at) * 1000 AS received_ts, status
    FROM ${ANALYTICS_EVENTS_TABLE} FINAL
    WHERE ${where.join(' AND ')}
    LIMIT ${chNumber(query.limit)}`;
};

type RawRow = Record<string, string | number>;

async function* exportRows(rows: AsyncIterable<RawRow>): AsyncGenerator<ExportEventRow> {
  for await (const row of rows) {
    yield {
      ...row,
      is_state: Number(row.is_state) === 1,
      encrypted: Number(row.encrypted) === 1,
      content_bytes: Number(row.content_bytes),
      origin_server_ts: Number(row.origin_server_ts),
      received_ts: Number(row.received_ts),
    } as ExportEventRow;
  }
}

export const exportQueries = (ch: AnalyticsClickHouse) => ({
  exportEvents: async (query: ExportEventsQuery): Promise<AsyncIterable<ExportEventRow>> =>
    exportRows(await ch.stream<RawRow>(exportEventsSql(query))),
});
