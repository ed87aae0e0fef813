/**
 * The analyst SQL endpoint: a query the guard accepted (queriesSqlGuard.ts) runs with ClickHouse's
 * `readonly=1` and limits on what it may read, return, take and use. Too many result rows cut the
 * answer short (`truncated`); any other limit, and any error of ClickHouse's own (syntax, unknown
 * column), is the analyst's 400 with ClickHouse's message.
 */
import type { SqlQuery, SqlResult } from '../../domain/app/analytics/index.ts';
import { MatrixError } from '../../domain/index.ts';
import type { AnalyticsClickHouse, ClickHouseQuerySettings } from './queriesClient.ts';
import { guardAnalystSql } from './queriesSqlGuard.ts';
import { ANALYTICS_TABLES } from './schema.ts';

export interface AnalystSqlLimits {
  /** Rows ClickHouse may read (max_rows_to_read). */
  readonly maxRowsToRead: number;
  readonly maxBytesToRead: number;
  /** Seconds (max_execution_time). */
  readonly maxExecutionSeconds: number;
  readonly maxMemoryBytes: number;
  /** Bytes of result (max_result_bytes), whatever the row count. */
  readonly maxResultBytes: number;
}

export const DEFAULT_ANALYST_SQL_LIMITS: AnalystSqlLimits = {
  maxRowsToRead: 1_000_000_000,
  maxBytesToRead: 100 * 1024 ** 3,
  // Below the ClickHouse client's 30 s socket timeout, so ClickHouse's own message arrives first.
  maxExecutionSeconds: 25,
  maxMemoryBytes: 2 * 1024 ** 3,
  maxResultBytes: 64 * 1024 ** 2,
};

/** `readonly` last: once it applies, no later setting of the same request may change. */
export const analystSqlSettings = (maxRows: number, limits: AnalystSqlLimits): ClickHouseQuerySettings => ({
  max_result_rows: maxRows + 1,
  max_result_bytes: limits.maxResultBytes,
  result_overflow_mode: 'break',
  max_rows_to_read: limits.maxRowsToRead,
  max_bytes_to_read: limits.maxBytesToRead,
  read_overflow_mode: 'throw',
  max_execution_time: limits.maxExecutionSeconds,
  timeout_overflow_mode: 'throw',
  max_memory_usage: limits.maxMemoryBytes,
  readonly: 1,
});

/** ClickHouse's own words, without the client's prefix, its stack trace or version suffix. */
export const clickHouseReason = (message: string): string => {
  const start = message.indexOf('DB::Exception: ');
  let reason = start < 0 ? message : message.slice(start + 'DB::Exception: '.length);
  for (const end of [', e.what() = ', ' (version ', '\nStack trace']) {
    const at = reason.indexOf(end);
    if (at >= 0) reason = reason.slice(0, at);
  }
  return reason.trim().slice(0, 1000);
};

const isClickHouseError = (error: unknown): error is Error & { code: number } =>
  error instanceof Error && typeof (error as { code?: unknown }).code === 'number';

export const sqlQueries = (ch: AnalyticsClickHouse, limits: AnalystSqlLimits = DEFAULT_ANALYST_SQL_LIMITS) => ({
  sql: async (query: SqlQuery): Promise<SqlResult> => {
    const statement = guardAnalystSql(query.query, { database: ch.database, tables: ANALYTICS_TABLES });
    let result;
    try {
      result = await ch.queryCompact(statement, analystSqlSettings(query.maxRows, limits));
    } catch (error) {
      if (isClickHouseError(error)) throw new MatrixError('M_INVALID_PARAM', 400, `ClickHouse refused the query: ${clickHouseReason(error.message)}`);
      throw error;
    }
    // `break` stops at a block boundary: more rows than asked may arrive.
    const truncated = result.data.length > query.maxRows;
    return {
      columns: result.meta.map((column) => ({ name: column.name, type: column.type })),
      rows: truncated ? result.data.slice(0, query.maxRows) : result.data,
      truncated,
      statistics: {
        rowsRead: Number(result.statistics?.rows_read ?? 0),
        bytesRead: Number(result.statistics?.bytes_read ?? 0),
        elapsedMs: Math.round(Number(result.statistics?.elapsed ?? 0) * 1e6) / 1e3,
      },
    };
  },
});
