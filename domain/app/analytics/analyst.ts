/**
 * The analyst API's use-cases (docs/analytics.md): each checks the requester is an analyst first
 * (others learn nothing, not even whether a warehouse exists), then validates its parameters, then
 * reads. Zero buckets of a time series are filled here, so the read model returns only what it found.
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { AnalystAccess } from './access.ts';
import {
  bucketStarts, parseExportEventsQuery, parseExportKind, parseSqlRequest, parseTimeRangeQuery, parseTimeseriesQuery,
  parseTopQuery, userIdParam, type ExportDataset, type ExportFormat,
} from './analystParams.ts';
import { encodeCsv, encodeJsonArray, type ExportValue } from './exportFormat.ts';
import { roomIdParam, type QueryParams } from './params.ts';
import {
  EXPORT_EVENT_COLUMNS, type ActiveUsersRow, type AnalyticsReadModel, type KeyCount, type TimeseriesCount, type TimeseriesQuery,
  type TopQuery, type TopRow,
} from './readModel.ts';

export interface AnalystContext {
  /** null when ClickHouse is not configured. */
  readonly readModel: AnalyticsReadModel | null;
  readonly access: Pick<AnalystAccess, 'requireAnalyst'>;
  /** analytics.export_max_rows: the most rows one `events` export streams. */
  readonly exportMaxRows: number;
  readonly notConfiguredMessage: string;
}

export interface AnalyticsExport {
  readonly filename: string;
  readonly contentType: string;
  /** The encoded body, a chunk at a time. */
  readonly body: AsyncIterable<string>;
}

export interface Analyst {
  whoami(requesterUserId: string): Promise<JsonObject>;
  timeseries(requesterUserId: string, params: QueryParams): Promise<JsonObject>;
  top(requesterUserId: string, dimension: string, params: QueryParams): Promise<JsonObject>;
  activeUsers(requesterUserId: string, params: QueryParams): Promise<JsonObject>;
  room(requesterUserId: string, roomId: string, params: QueryParams): Promise<JsonObject>;
  user(requesterUserId: string, userId: string, params: QueryParams): Promise<JsonObject>;
  exportData(requesterUserId: string, params: QueryParams): Promise<AnalyticsExport>;
  sql(requesterUserId: string, body: unknown): Promise<JsonObject>;
}

interface Series {
  readonly key: string | null;
  readonly total: number;
  readonly points: { ts: number; count: number }[];
}

/**
 * One series per group, every bucket of the range present (zeros included), the biggest groups
 * first (ties by key), at most `limit` of them.
 */
export const seriesOf = (query: TimeseriesQuery, counts: readonly TimeseriesCount[]): Series[] => {
  const starts = bucketStarts(query.bucket, query.from, query.to);
  const byKey = new Map<string, Map<number, number>>();
  for (const { key, ts, count } of counts) {
    const points = byKey.get(key) ?? new Map<number, number>();
    points.set(ts, (points.get(ts) ?? 0) + count);
    byKey.set(key, points);
  }
  const series = [...byKey].map(([key, points]) => ({
    key: query.groupBy === 'none' ? null : key,
    total: [...points.values()].reduce((sum, n) => sum + n, 0),
    points: starts.map((ts) => ({ ts, count: points.get(ts) ?? 0 })),
  }));
  if (query.groupBy === 'none' && series.length === 0) series.push({ key: null, total: 0, points: starts.map((ts) => ({ ts, count: 0 })) });
  series.sort((a, b) => b.total - a.total || ((a.key ?? '') < (b.key ?? '') ? -1 : (a.key ?? '') > (b.key ?? '') ? 1 : 0));
  return series.slice(0, query.limit);
};

const topRow = (row: TopRow): JsonObject => ({ key: row.key, events: row.events, senders: row.senders, rooms: row.rooms });
const keyCount = (row: KeyCount): JsonObject => ({ key: row.key, events: row.events });
const activeRow = (row: ActiveUsersRow): JsonObject => ({
  ts: row.ts, users: row.users, local: row.local, bridged: row.bridged, federated: row.federated,
});

const CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = { csv: 'text/csv; charset=utf-8', json: 'application/json' };

export const createAnalyst = (ctx: AnalystContext): Analyst => {
  /** The read model for an analyst: 403 for others first, then 501 without ClickHouse. */
  const readModelFor = async (requesterUserId: string): Promise<AnalyticsReadModel> => {
    await ctx.access.requireAnalyst(requesterUserId);
    if (ctx.readModel === null) throw new MatrixError('M_UNKNOWN', 501, ctx.notConfiguredMessage);
    return ctx.readModel;
  };

  const timeseries = async (readModel: AnalyticsReadModel, params: QueryParams) => {
    const query = parseTimeseriesQuery(params);
    return { query, series: seriesOf(query, await readModel.timeseries(query)) };
  };
  const top = async (readModel: AnalyticsReadModel, dimension: string, params: QueryParams) => {
    const query: TopQuery = parseTopQuery(dimension, params);
    return { query, rows: await readModel.top(query) };
  };

  const encode = (format: ExportFormat, columns: readonly string[], rows: AsyncIterable<Readonly<Record<string, ExportValue>>> | Iterable<Readonly<Record<string, ExportValue>>>) =>
    (format === 'csv' ? encodeCsv(columns, rows) : encodeJsonArray(columns, rows));

  const exportRows = async (readModel: AnalyticsReadModel, dataset: ExportDataset, format: ExportFormat, params: QueryParams) => {
    switch (dataset) {
      case 'events': {
        const query = parseExportEventsQuery(params, ctx.exportMaxRows);
        return encode(format, EXPORT_EVENT_COLUMNS, await readModel.exportEvents(query));
      }
      case 'timeseries': {
        const { series } = await timeseries(readModel, params);
        // Bounded: at most MAX_SERIES × MAX_BUCKETS points, produced lazily.
        const rows = function* () {
          for (const { key, points } of series) for (const { ts, count } of points) yield { key, ts, count };
        };
        return encode(format, ['key', 'ts', 'count'], rows());
      }
      case 'top': {
        const dimension = params.dimension;
        if (dimension === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'dimension'");
        if (typeof dimension !== 'string') throw new MatrixError('M_INVALID_PARAM', 400, "'dimension' must be given once");
        const { rows } = await top(readModel, dimension, params);
        return encode(format, ['key', 'events', 'senders', 'rooms'], rows.map((row) => ({ ...row })));
      }
    }
  };

  return {
    whoami: async (requesterUserId) => {
      await ctx.access.requireAnalyst(requesterUserId);
      return { user_id: requesterUserId, analyst: true, warehouse: ctx.readModel !== null };
    },
    timeseries: async (requesterUserId, params) => {
      const { query, series } = await timeseries(await readModelFor(requesterUserId), params);
      return {
        bucket: query.bucket, from: query.from, to: query.to, group_by: query.groupBy,
        series: series.map((s) => ({ key: s.key, total: s.total, points: s.points })),
      };
    },
    top: async (requesterUserId, dimension, params) => {
      const { query, rows } = await top(await readModelFor(requesterUserId), dimension, params);
      return { dimension: query.dimension, from: query.from, to: query.to, rows: rows.map(topRow) };
    },
    activeUsers: async (requesterUserId, params) => {
      const readModel = await readModelFor(requesterUserId);
      const query = parseTimeRangeQuery(params);
      const { daily, monthly } = await readModel.activeUsers(query);
      return { from: query.from, to: query.to, daily: daily.map(activeRow), monthly: monthly.map(activeRow) };
    },
    room: async (requesterUserId, roomId, params) => {
      const readModel = await readModelFor(requesterUserId);
      const id = roomIdParam(roomId, 'roomId');
      const range = parseTimeRangeQuery(params);
      const detail = await readModel.roomDetail(id, range);
      if (detail === undefined) throw new MatrixError('M_NOT_FOUND', 404, 'The warehouse has no event of this room');
      return {
        room_id: id, room_version: detail.roomVersion, from: range.from, to: range.to,
        events: detail.events, state_events: detail.stateEvents, senders: detail.senders, redacted: detail.redacted,
        soft_failed: detail.softFailed, rejected: detail.rejected, first_ts: detail.firstTs, last_ts: detail.lastTs,
        types: detail.types.map(keyCount), top_senders: detail.topSenders.map(keyCount),
      };
    },
    user: async (requesterUserId, userId, params) => {
      const readModel = await readModelFor(requesterUserId);
      const id = userIdParam(userId);
      const range = parseTimeRangeQuery(params);
      const detail = await readModel.userDetail(id, range);
      if (detail === undefined) throw new MatrixError('M_NOT_FOUND', 404, 'The warehouse has no event sent by this user');
      return {
        user_id: id, from: range.from, to: range.to, events: detail.events, rooms: detail.rooms, active_days: detail.activeDays,
        first_ts: detail.firstTs, last_ts: detail.lastTs, types: detail.types.map(keyCount), top_rooms: detail.topRooms.map(keyCount),
      };
    },
    exportData: async (requesterUserId, params) => {
      const readModel = await readModelFor(requesterUserId);
      const { dataset, format } = parseExportKind(params);
      const body = await exportRows(readModel, dataset, format, params);
      return { filename: `strata-${dataset}.${format}`, contentType: CONTENT_TYPES[format], body };
    },
    sql: async (requesterUserId, requestBody) => {
      const readModel = await readModelFor(requesterUserId);
      const result = await readModel.sql(parseSqlRequest(requestBody));
      return {
        columns: result.columns.map((c) => ({ name: c.name, type: c.type })),
        rows: result.rows as JsonObject['rows'],
        truncated: result.truncated,
        statistics: {
          rows_read: result.statistics.rowsRead, bytes_read: result.statistics.bytesRead, elapsed_ms: result.statistics.elapsedMs,
        },
      };
    },
  };
};
