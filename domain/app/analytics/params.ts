/**
 * Query-string parameters of the analytics API, validated before anything reaches a query:
 * a bad value answers 400 M_INVALID_PARAM, a missing required one 400 M_MISSING_PARAM.
 */
import { MatrixError } from '../../errors.ts';
import { parseRoomId } from '../../ids/index.ts';
import type {
  ActivityBucket, CountsGroupBy, EventCountsQuery, EventStatus, RoomActivityQuery,
} from './readModel.ts';

/** As Koa parses a query string: a repeated key becomes an array. */
export type QueryParams = Readonly<Record<string, string | readonly string[] | undefined>>;

/** The last instant a ClickHouse DateTime holds on every version (UInt32 seconds). */
export const MAX_TIME_MS = Date.UTC(2105, 11, 31, 23, 59, 59, 999);
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;
/** At most this many buckets per activity answer (about 14 months of hours). */
export const MAX_BUCKETS = 10_000;
/** client-server-api § Size limits: types and ids are at most 255 bytes. */
const MAX_TEXT_BYTES = 255;

export const invalid = (key: string, what: string): MatrixError => new MatrixError('M_INVALID_PARAM', 400, `'${key}' must be ${what}`);

export const single = (params: QueryParams, key: string): string | undefined => {
  const value = params[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(key, 'given once');
  return value;
};

export const oneOf = <T extends string>(params: QueryParams, key: string, allowed: readonly T[], fallback?: T): T => {
  const value = single(params, key);
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw new MatrixError('M_MISSING_PARAM', 400, `Missing '${key}' (one of ${allowed.join(', ')})`);
  }
  if (!(allowed as readonly string[]).includes(value)) throw invalid(key, `one of ${allowed.join(', ')}`);
  return value as T;
};

export const integer = (params: QueryParams, key: string, min: number, max: number, fallback: number): number => {
  const value = single(params, key);
  if (value === undefined) return fallback;
  if (!/^\d{1,16}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw invalid(key, `an integer from ${min} to ${max}`);
  }
  return Number(value);
};

/** from/to in ms since the epoch; `from` inclusive, `to` exclusive, from < to. */
export const timeRange = (params: QueryParams): { from: number; to: number } => {
  const from = integer(params, 'from', 0, MAX_TIME_MS, 0);
  const to = integer(params, 'to', 0, MAX_TIME_MS + 1, MAX_TIME_MS + 1);
  if (from >= to) throw invalid('from', "less than 'to'");
  return { from, to };
};

export const textOf = (value: string, key: string): string => {
  if (value === '' || new TextEncoder().encode(value).length > MAX_TEXT_BYTES || !value.isWellFormed()) {
    throw invalid(key, `a non-empty string of at most ${MAX_TEXT_BYTES} bytes`);
  }
  return value;
};

export const roomIdParam = (value: string, key = 'room_id'): string => {
  const parsed = parseRoomId(value);
  if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', 400, `'${key}' is not a room id: ${parsed.error}`);
  return parsed.value;
};

const GROUP_BY: readonly CountsGroupBy[] = ['type', 'sender', 'room', 'server', 'hour', 'day'];
const STATUSES: readonly EventStatus[] = ['accepted', 'soft_failed', 'rejected'];
const BUCKETS: readonly ActivityBucket[] = ['hour', 'day'];

export const parseEventCountsQuery = (params: QueryParams): EventCountsQuery => {
  const groupBy = oneOf(params, 'group_by', GROUP_BY);
  const status = oneOf(params, 'status', STATUSES, 'accepted');
  const { from, to } = timeRange(params);
  const limit = integer(params, 'limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
  const roomId = single(params, 'room_id');
  const type = single(params, 'type');
  return {
    groupBy, status, from, to, limit,
    ...(roomId === undefined ? {} : { roomId: roomIdParam(roomId) }),
    ...(type === undefined ? {} : { type: textOf(type, 'type') }),
  };
};

export const parseRoomActivityQuery = (roomId: string, params: QueryParams): RoomActivityQuery => {
  const bucket = oneOf(params, 'bucket', BUCKETS, 'hour');
  const { from, to } = timeRange(params);
  return { roomId: roomIdParam(roomId, 'roomId'), bucket, from, to, limit: MAX_BUCKETS };
};
