/**
 * Time series, top-N and active users. Where the range is whole hours or days the rollups answer
 * (their sets merged: each event, sender or room counts once however many rows hold it), which is
 * what keeps a year of data cheap; otherwise, and for a grouping no rollup keys, the fact table
 * read with FINAL. Grouping by sender or server counts events that name a sender (a rejected one
 * does not), as the sender and server rollups do; grouping by msgtype counts events that carry one.
 */
import type {
  ActiveUsers, ActiveUsersRow, SeriesGroupBy, TimeRangeQuery, TimeseriesCount, TimeseriesQuery, TopDimension, TopQuery, TopRow,
} from '../../domain/app/analytics/index.ts';
import { chNumber, chString } from '../runtime/index.ts';
import type { ClickHouseExecutor } from '../runtime/clickhousePositions.ts';
import { DAY_MS, HOUR_MS, dayNumberRange, dayRange, hourRange, isAligned, msRange, num } from './queriesClient.ts';
import { ANALYTICS_EVENTS_TABLE } from './schema.ts';

const BUCKET_SIZE = { minute: 60_000, hour: HOUR_MS, day: DAY_MS } as const;

/** Where a question is answered: a table, its time filter and bucket, and how it counts events. */
interface Source {
  readonly from: string;
  readonly time: string;
  readonly events: string;
}

const fact = (from: number, to: number): Source =>
  ({ from: `${ANALYTICS_EVENTS_TABLE} FINAL`, time: msRange(from, to), events: 'count()' });
const rollup = (table: string, time: string): Source => ({ from: table, time, events: 'uniqExactMerge(events)' });

const SERIES_KEYS: Readonly<Record<SeriesGroupBy, string>> = {
  none: "''", room: 'room_id', sender: 'sender', server: 'sender_server', type: 'event_type', msgtype: 'msgtype',
};

/** The sender and server rollups hold only events with a sender; the fact table is filtered alike. */
const keyFilter = (groupBy: SeriesGroupBy | TopDimension, fromFacts: boolean): string[] => {
  if (groupBy === 'sender' || groupBy === 'server' || groupBy === 'senders' || groupBy === 'servers') return fromFacts ? ["sender != ''"] : [];
  if (groupBy === 'msgtype' || groupBy === 'msgtypes') return ["msgtype != ''"];
  return [];
};

const seriesSource = (query: TimeseriesQuery): { source: Source; bucket: string } => {
  const { from, to } = query;
  const size = BUCKET_SIZE[query.bucket];
  const byRoomTable = ['none', 'room', 'type', 'msgtype'].includes(query.groupBy);
  if (query.bucket === 'day' && isAligned(DAY_MS, from, to)) {
    const bucket = `toUInt32(day) * ${DAY_MS}`;
    if (byRoomTable) return { source: rollup('analytics_room_daily', dayRange(from, to)), bucket };
    if (query.roomId === undefined) {
      const table = query.groupBy === 'sender' ? 'analytics_sender_daily' : 'analytics_server_daily';
      return { source: rollup(table, dayRange(from, to)), bucket };
    }
  }
  // Hours nest in days: whole hours answer hourly and daily buckets alike.
  if (query.bucket !== 'minute' && byRoomTable && isAligned(HOUR_MS, from, to)) {
    return { source: rollup('analytics_room_hourly', hourRange(from, to)), bucket: `intDiv(toUnixTimestamp(hour), ${size / 1000}) * ${size}` };
  }
  return { source: fact(from, to), bucket: `intDiv(origin_server_ms, ${size}) * ${size}` };
};

export const timeseriesSql = (query: TimeseriesQuery): string => {
  const { source, bucket } = seriesSource(query);
  const key = SERIES_KEYS[query.groupBy];
  const where = [source.time, `status = ${chString(query.status)}`, ...keyFilter(query.groupBy, source.events === 'count()')];
  if (query.roomId !== undefined) where.push(`room_id = ${chString(query.roomId)}`);
  if (query.type !== undefined) where.push(`event_type = ${chString(query.type)}`);
  const filter = where.join(' AND ');
  // The `limit` biggest groups over the whole range, largest first, ties by key.
  const topGroups = query.groupBy === 'none' ? '' : ` AND ${key} IN (SELECT group_key FROM (
      SELECT ${key} AS group_key, ${source.events} AS group_total FROM ${source.from} WHERE ${filter}
      GROUP BY group_key ORDER BY group_total DESC, group_key ASC LIMIT ${chNumber(query.limit)}))`;
  return `SELECT ${key} AS series_key, ${bucket} AS bucket_ts, ${source.events} AS events
    FROM ${source.from}
    WHERE ${filter}${topGroups}
    GROUP BY series_key, bucket_ts`;
};

/** Per dimension: the rollup that answers it (when the range is whole days) and its measures. */
const TOP_ROLLUPS: Readonly<Record<TopDimension, { table: string; key: string; senders: string; rooms: string; hasRoom: boolean }>> = {
  rooms: { table: 'analytics_room_daily', key: 'room_id', senders: 'uniqExactMerge(senders)', rooms: 'uniqExact(room_id)', hasRoom: true },
  senders: { table: 'analytics_sender_daily', key: 'sender', senders: 'uniqExact(sender)', rooms: 'uniqExactMerge(rooms)', hasRoom: false },
  servers: { table: 'analytics_server_daily', key: 'sender_server', senders: 'uniqExactMerge(senders)', rooms: 'uniqExactMerge(rooms)', hasRoom: false },
  types: { table: 'analytics_room_daily', key: 'event_type', senders: 'uniqExactMerge(senders)', rooms: 'uniqExact(room_id)', hasRoom: true },
  msgtypes: { table: 'analytics_room_daily', key: 'msgtype', senders: 'uniqExactMerge(senders)', rooms: 'uniqExact(room_id)', hasRoom: true },
};

/** Rooms, types and msgtypes over whole hours: the hourly room rollup. */
const HOURLY_TOP: ReadonlySet<TopDimension> = new Set(['rooms', 'types', 'msgtypes']);

export const topSql = (query: TopQuery): string => {
  const chosen = TOP_ROLLUPS[query.dimension];
  const daily = isAligned(DAY_MS, query.from, query.to) && (query.roomId === undefined || chosen.hasRoom);
  const hourly = !daily && HOURLY_TOP.has(query.dimension) && isAligned(HOUR_MS, query.from, query.to);
  const where = ["status = 'accepted'", ...keyFilter(query.dimension, !daily && !hourly)];
  if (query.roomId !== undefined) where.push(`room_id = ${chString(query.roomId)}`);
  const [from, time, events, senders, rooms] = daily
    ? [chosen.table, dayRange(query.from, query.to), 'uniqExactMerge(events)', chosen.senders, chosen.rooms]
    : hourly
      ? ['analytics_room_hourly', hourRange(query.from, query.to), 'uniqExactMerge(events)', chosen.senders, chosen.rooms]
      : [`${ANALYTICS_EVENTS_TABLE} FINAL`, msRange(query.from, query.to), 'count()', 'uniqExact(sender)', 'uniqExact(room_id)'];
  return `SELECT ${chosen.key} AS row_key, ${events} AS events, ${senders} AS senders, ${rooms} AS rooms
    FROM ${from}
    WHERE ${[time, ...where].join(' AND ')}
    GROUP BY row_key
    ORDER BY events DESC, row_key ASC
    LIMIT ${chNumber(query.limit)}`;
};

const monthStartDay = (ms: number): number => {
  const at = new Date(ms);
  return Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1) / DAY_MS;
};

/**
 * Days (months) that overlap [from, to): the rollups hold whole days and months. Each period once
 * overall (origin '') and once per origin.
 */
export const activeUsersSql = (table: 'analytics_active_users_daily' | 'analytics_active_users_monthly', column: 'day' | 'month', query: TimeRangeQuery): string => {
  const first = column === 'day' ? Math.floor(query.from / DAY_MS) : monthStartDay(query.from);
  const range = dayNumberRange(column, first, Math.ceil(query.to / DAY_MS));
  return `SELECT toUInt32(${column}) AS day_number, origin, uniqExactMerge(users) AS users FROM ${table}
      WHERE ${range} GROUP BY day_number, origin
    UNION ALL
    SELECT toUInt32(${column}) AS day_number, '' AS origin, uniqExactMerge(users) AS users FROM ${table}
      WHERE ${range} GROUP BY day_number`;
};

interface SeriesRow { series_key: string; bucket_ts: number; events: number }
interface TopSqlRow { row_key: string; events: number; senders: number; rooms: number }
interface ActiveSqlRow { day_number: number; origin: string; users: number }

const activeRows = (rows: readonly ActiveSqlRow[]): ActiveUsersRow[] => {
  const byDay = new Map<number, { ts: number; users: number; local: number; bridged: number; federated: number }>();
  for (const row of rows) {
    const ts = num(row.day_number) * DAY_MS;
    const entry = byDay.get(ts) ?? { ts, users: 0, local: 0, bridged: 0, federated: 0 };
    const origin = row.origin === '' ? 'users' : row.origin;
    if (origin === 'users' || origin === 'local' || origin === 'bridged' || origin === 'federated') entry[origin] = num(row.users);
    byDay.set(ts, entry);
  }
  return [...byDay.values()].sort((a, b) => a.ts - b.ts);
};

export const seriesQueries = (ch: ClickHouseExecutor) => ({
  timeseries: async (query: TimeseriesQuery): Promise<TimeseriesCount[]> =>
    (await ch.query<SeriesRow>(timeseriesSql(query))).map((row) => ({ key: String(row.series_key), ts: num(row.bucket_ts), count: num(row.events) })),
  top: async (query: TopQuery): Promise<TopRow[]> =>
    (await ch.query<TopSqlRow>(topSql(query))).map((row) => ({
      key: String(row.row_key), events: num(row.events), senders: num(row.senders), rooms: num(row.rooms),
    })),
  activeUsers: async (query: TimeRangeQuery): Promise<ActiveUsers> => {
    const [daily, monthly] = await Promise.all([
      ch.query<ActiveSqlRow>(activeUsersSql('analytics_active_users_daily', 'day', query)),
      ch.query<ActiveSqlRow>(activeUsersSql('analytics_active_users_monthly', 'month', query)),
    ]);
    return { daily: activeRows(daily), monthly: activeRows(monthly) };
  },
});
