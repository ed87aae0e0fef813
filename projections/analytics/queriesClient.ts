/**
 * What the analytics queries need of ClickHouse (infra/clickhouse implements it), and the range
 * filters they share. Every value reaches SQL through the literal helpers, after domain/app/analytics
 * validated it (18.16 has no server-side parameters).
 */
import { chNumber } from '../runtime/index.ts';
import type { ClickHouseExecutor } from '../runtime/clickhousePositions.ts';

export type ClickHouseQuerySettings = Readonly<Record<string, string | number>>;

export interface ClickHouseCompactResult {
  readonly meta: readonly { readonly name: string; readonly type: string }[];
  readonly data: readonly (readonly unknown[])[];
  readonly statistics?: { readonly elapsed: number; readonly rows_read: number; readonly bytes_read: number };
}

export interface AnalyticsClickHouse extends ClickHouseExecutor {
  /** The database the analytics tables live in. */
  readonly database: string;
  /** Resolves once ClickHouse answered (early errors reject); rows arrive as they are read. */
  stream<T = Record<string, unknown>>(sql: string, settings?: ClickHouseQuerySettings): Promise<AsyncIterable<T>>;
  queryCompact(sql: string, settings?: ClickHouseQuerySettings): Promise<ClickHouseCompactResult>;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** origin_server_ms in [from, to). */
export const msRange = (from: number, to: number): string =>
  `origin_server_ms >= ${chNumber(from)} AND origin_server_ms < ${chNumber(to)}`;

/** A rollup's `hour` (DateTime) in [from, to); both multiples of an hour. */
export const hourRange = (from: number, to: number): string =>
  `hour >= toDateTime(${chNumber(from / 1000)}) AND hour < toDateTime(${chNumber(to / 1000)})`;

/**
 * A Date column's day number in [first, end). Compared as numbers: 18.16 reads a date literal past
 * 2105 as 0000-00-00.
 */
export const dayNumberRange = (column: string, first: number, end: number): string =>
  `toUInt32(${column}) >= ${chNumber(first)} AND toUInt32(${column}) < ${chNumber(end)}`;

/** Days of a rollup in [from, to), both multiples of a day. */
export const dayRange = (from: number, to: number): string => dayNumberRange('day', from / DAY_MS, to / DAY_MS);

export const isAligned = (size: number, ...times: readonly number[]): boolean => times.every((ms) => ms % size === 0);

export const num = (value: unknown): number => Number(value);
