/**
 * Parameters of the analyst API (docs/analytics.md), validated before anything reaches a query:
 * a bad value answers 400 M_INVALID_PARAM, a missing required one M_MISSING_PARAM, a body that is
 * not what the endpoint reads M_BAD_JSON.
 */
import { MatrixError } from '../../errors.ts';
import { parseUserId } from '../../ids/index.ts';
import { integer, invalid, MAX_BUCKETS, oneOf, roomIdParam, single, textOf, timeRange, type QueryParams } from './params.ts';
import type {
  EventStatus, ExportEventsQuery, SeriesGroupBy, SqlQuery, TimeBucket, TimeRangeQuery, TimeseriesQuery, TopDimension, TopQuery,
} from './readModel.ts';

export const BUCKET_MS: Readonly<Record<TimeBucket, number>> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const BUCKETS: readonly TimeBucket[] = ['minute', 'hour', 'day'];
const SERIES_GROUP_BY: readonly SeriesGroupBy[] = ['none', 'room', 'sender', 'server', 'type', 'msgtype'];
export const TOP_DIMENSIONS: readonly TopDimension[] = ['rooms', 'senders', 'servers', 'types', 'msgtypes'];
const STATUSES: readonly EventStatus[] = ['accepted', 'soft_failed', 'rejected'];
export const DEFAULT_SERIES = 10;
export const MAX_SERIES = 100;
export const DEFAULT_TOP = 10;
export const MAX_TOP = 1000;
/** A longer analyst query is refused before it is looked at. */
export const MAX_SQL_LENGTH = 20_000;
export const DEFAULT_SQL_ROWS = 1000;
export const MAX_SQL_ROWS = 10_000;

const required = (params: QueryParams, key: string): void => {
  if (params[key] === undefined) throw new MatrixError('M_MISSING_PARAM', 400, `Missing '${key}' (ms since the epoch)`);
};

/** Bucket starts from the one holding `from` up to the last starting before `to`. */
export const bucketStarts = (bucket: TimeBucket, from: number, to: number): number[] => {
  const size = BUCKET_MS[bucket];
  const starts: number[] = [];
  for (let ts = from - (from % size); ts < to; ts += size) starts.push(ts);
  return starts;
};

export const parseTimeseriesQuery = (params: QueryParams): TimeseriesQuery => {
  const bucket = oneOf(params, 'bucket', BUCKETS);
  required(params, 'from');
  required(params, 'to');
  const { from, to } = timeRange(params);
  const size = BUCKET_MS[bucket];
  const buckets = Math.ceil((to - (from - (from % size))) / size);
  if (buckets > MAX_BUCKETS) throw invalid('to', `at most ${MAX_BUCKETS} ${bucket}s after 'from' (this range has ${buckets})`);
  const groupBy = oneOf(params, 'group_by', SERIES_GROUP_BY, 'none');
  const status = oneOf(params, 'status', STATUSES, 'accepted');
  const limit = integer(params, 'limit', 1, MAX_SERIES, DEFAULT_SERIES);
  const roomId = single(params, 'room_id');
  const type = single(params, 'type');
  return {
    bucket, from, to, groupBy, status, limit,
    ...(roomId === undefined ? {} : { roomId: roomIdParam(roomId) }),
    ...(type === undefined ? {} : { type: textOf(type, 'type') }),
  };
};

export const parseTopDimension = (value: string): TopDimension => {
  if (!(TOP_DIMENSIONS as readonly string[]).includes(value)) throw invalid('dimension', `one of ${TOP_DIMENSIONS.join(', ')}`);
  return value as TopDimension;
};

export const parseTopQuery = (dimension: string, params: QueryParams): TopQuery => {
  const parsed = parseTopDimension(dimension);
  const { from, to } = timeRange(params);
  const limit = integer(params, 'limit', 1, MAX_TOP, DEFAULT_TOP);
  const roomId = single(params, 'room_id');
  return { dimension: parsed, from, to, limit, ...(roomId === undefined ? {} : { roomId: roomIdParam(roomId) }) };
};

export const parseTimeRangeQuery = (params: QueryParams): TimeRangeQuery => timeRange(params);

export const userIdParam = (value: string, key = 'userId'): string => {
  const parsed = parseUserId(value);
  if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', 400, `'${key}' is not a user id: ${parsed.error}`);
  return parsed.value;
};

/** `events` export: metadata rows, at most `maxRows` (the configured cap) and `limit` if smaller. */
export const parseExportEventsQuery = (params: QueryParams, maxRows: number): ExportEventsQuery => {
  const { from, to } = timeRange(params);
  const limit = integer(params, 'limit', 1, maxRows, maxRows);
  const roomId = single(params, 'room_id');
  const sender = single(params, 'sender');
  const type = single(params, 'type');
  const status = single(params, 'status') === undefined ? undefined : oneOf(params, 'status', STATUSES);
  return {
    from, to, limit,
    ...(roomId === undefined ? {} : { roomId: roomIdParam(roomId) }),
    ...(sender === undefined ? {} : { sender: userIdParam(sender, 'sender') }),
    ...(type === undefined ? {} : { type: textOf(type, 'type') }),
    ...(status === undefined ? {} : { status }),
  };
};

export type ExportDataset = 'events' | 'timeseries' | 'top';
export type ExportFormat = 'csv' | 'json';

export const parseExportKind = (params: QueryParams): { dataset: ExportDataset; format: ExportFormat } => ({
  dataset: oneOf(params, 'dataset', ['events', 'timeseries', 'top'] as const),
  format: oneOf(params, 'format', ['csv', 'json'] as const),
});

const isObject = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** POST /sql's body: `{ "query": "SELECT ...", "max_rows"?: n }`. */
export const parseSqlRequest = (body: unknown): SqlQuery => {
  if (!isObject(body)) throw new MatrixError('M_BAD_JSON', 400, 'The body must be a JSON object');
  const { query, max_rows: maxRows } = body;
  if (query === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'query'");
  if (typeof query !== 'string') throw new MatrixError('M_BAD_JSON', 400, "'query' must be a string");
  if (query.trim() === '') throw invalid('query', 'a SELECT statement');
  if (query.length > MAX_SQL_LENGTH) throw invalid('query', `at most ${MAX_SQL_LENGTH} characters`);
  if (!query.isWellFormed()) throw invalid('query', 'well-formed Unicode');
  if (maxRows !== undefined && (typeof maxRows !== 'number' || !Number.isInteger(maxRows) || maxRows < 1 || maxRows > MAX_SQL_ROWS)) {
    throw invalid('max_rows', `an integer from 1 to ${MAX_SQL_ROWS}`);
  }
  return { query, maxRows: maxRows ?? DEFAULT_SQL_ROWS };
};
