/**
 * The analytics read port over ClickHouse: the counts and room activity here, the analyst API's
 * reads in queries*.ts beside it. 18.16 has no server-side parameters, so every value is spliced in
 * through the escaping helpers, and only after domain/app/analytics validated it. analytics_events
 * is read with FINAL so that rows a replayed batch inserted again count once even before ClickHouse
 * merges them.
 */
import type {
  AnalyticsReadModel, CountsGroupBy, EventCountRow, EventCountsQuery, RoomActivityQuery, RoomActivityRow,
} from '../../domain/app/analytics/index.ts';
import { chNumber, chString } from '../runtime/index.ts';
import type { AnalyticsClickHouse } from './queriesClient.ts';
import { detailQueries } from './queriesDetail.ts';
import { exportQueries } from './queriesExport.ts';
import { seriesQueries } from './queriesSeries.ts';
import { sqlQueries, type AnalystSqlLimits } from './queriesSql.ts';
import { ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE } from './schema.ts';

const hourOf = 'toUnixTimestamp(toStartOfHour(origin_server_ts)) * 1000';
const dayOf = 'toUnixTimestamp(toStartOfDay(origin_server_ts)) * 1000';

const GROUP_KEYS: Readonly<Record<CountsGroupBy, string>> = {
  type: 'event_type',
  sender: 'sender',
  room: 'room_id',
  server: 'sender_server',
  hour: hourOf,
  day: dayOf,
};

const isTimeGroup = (groupBy: CountsGroupBy): boolean => groupBy === 'hour' || groupBy === 'day';

const timeRange = (from: number, to: number): string =>
  `origin_server_ms >= ${chNumber(from)} AND origin_server_ms < ${chNumber(to)}`;

/** Events some accepted redaction targets (duplicates are harmless inside IN). */
const redactedTargets = (roomId: string | undefined): string =>
  `(SELECT redacts_event_id FROM ${ANALYTICS_REDACTIONS_TABLE}${roomId === undefined ? '' : ` WHERE room_id = ${chString(roomId)}`})`;

export const eventCountsSql = (query: EventCountsQuery): string => {
  const where = [`status = ${chString(query.status)}`, timeRange(query.from, query.to)];
  if (query.roomId !== undefined) where.push(`room_id = ${chString(query.roomId)}`);
  if (query.type !== undefined) where.push(`event_type = ${chString(query.type)}`);
  const order = isTimeGroup(query.groupBy) ? 'group_key ASC' : 'events DESC, group_key ASC';
  return `SELECT ${GROUP_KEYS[query.groupBy]} AS group_key, count() AS events,
      countIf(event_id IN ${redactedTargets(query.roomId)}) AS redacted_events
    FROM ${ANALYTICS_EVENTS_TABLE} FINAL
    WHERE ${where.join(' AND ')}
    GROUP BY group_key
    ORDER BY ${order}
    LIMIT ${chNumber(query.limit)}`;
};

export const roomActivitySql = (query: RoomActivityQuery): string => {
  const room = chString(query.roomId);
  return `SELECT ${query.bucket === 'hour' ? hourOf : dayOf} AS bucket_ts,
      countIf(status = 'accepted') AS events,
      countIf(status = 'accepted' AND has_state_key = 1) AS state_events,
      uniqExactIf(sender, status = 'accepted') AS senders,
      countIf(status = 'soft_failed') AS soft_failed,
      countIf(status = 'rejected') AS rejected,
      countIf(status = 'accepted' AND event_id IN ${redactedTargets(query.roomId)}) AS redacted_events
    FROM ${ANALYTICS_EVENTS_TABLE} FINAL
    WHERE room_id = ${room} AND ${timeRange(query.from, query.to)}
    GROUP BY bucket_ts
    ORDER BY bucket_ts ASC
    LIMIT ${chNumber(query.limit)}`;
};

interface CountRow { group_key: string | number; events: number; redacted_events: number }
interface ActivityRow {
  bucket_ts: number; events: number; state_events: number; senders: number;
  soft_failed: number; rejected: number; redacted_events: number;
}

export interface AnalyticsReadModelOptions {
  /** The SQL endpoint's limits (queriesSql.ts has the defaults). */
  readonly sqlLimits?: AnalystSqlLimits;
}

export const createClickHouseAnalyticsReadModel = (ch: AnalyticsClickHouse, options: AnalyticsReadModelOptions = {}): AnalyticsReadModel => ({
  ...seriesQueries(ch),
  ...detailQueries(ch),
  ...exportQueries(ch),
  ...sqlQueries(ch, options.sqlLimits),
  eventCounts: async (query): Promise<EventCountRow[]> => {
    const rows = await ch.query<CountRow>(eventCountsSql(query));
    return rows.map((row) => ({
      key: isTimeGroup(query.groupBy) ? Number(row.group_key) : String(row.group_key),
      count: Number(row.events),
      redacted: Number(row.redacted_events),
    }));
  },
  roomActivity: async (query): Promise<RoomActivityRow[]> => {
    const rows = await ch.query<ActivityRow>(roomActivitySql(query));
    return rows.map((row) => ({
      ts: Number(row.bucket_ts),
      events: Number(row.events),
      stateEvents: Number(row.state_events),
      senders: Number(row.senders),
      softFailed: Number(row.soft_failed),
      rejected: Number(row.rejected),
      redacted: Number(row.redacted_events),
    }));
  },
});
