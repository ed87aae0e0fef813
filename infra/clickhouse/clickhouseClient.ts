/**
 * A small ClickHouse client over @clickhouse/client, for the analytics read model.
 *
 * Checked against Debian's ClickHouse 18.16 and fine as is: the client sends the query in the POST
 * body and settings as URL parameters, and by default it sends no setting that 18.16 lacks. Two
 * things are set here so both old and new servers behave alike:
 * - `output_format_json_quote_64bit_integers = 0`: (U)Int64 such as count() come back as JSON
 *   numbers (analytics counts stay far below 2^53), on every server version.
 * - the library's own console logging is off; its errors reach the caller as ClickHouseQueryError,
 *   whose `code` is parsed from both message styles ("Code: 60, e.displayText() = …" in 18.16,
 *   "Code: 60. DB::Exception: …" later), since the library only recognises the newer one.
 */
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import { chIdentifier } from '../../projections/runtime/index.ts';

export interface ClickHouseOptions {
  /** http://host:port, optionally with user:password@ */
  readonly url: string;
  /** Created if missing; every statement runs in it. */
  readonly database: string;
}

export interface ClickHouse {
  readonly database: string;
  /** Runs a statement that returns no rows (DDL, INSERT … SELECT, ALTER). */
  exec(sql: string): Promise<void>;
  /** Runs a SELECT and returns its rows (JSONEachRow). Do not add a FORMAT clause. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /**
   * Starts a SELECT (JSONEachRow) and resolves once ClickHouse answered, so an early error (syntax,
   * unknown table) rejects here; the rows then arrive as they are read. Breaking out of the loop
   * cancels the query. `settings` apply to this query only, in their order (put `readonly` last).
   */
  stream<T = Record<string, unknown>>(sql: string, settings?: ClickHouseQuerySettings): Promise<AsyncIterable<T>>;
  /** Runs a SELECT in JSONCompact: column names and types, rows as arrays, and ClickHouse's statistics. */
  queryCompact(sql: string, settings?: ClickHouseQuerySettings): Promise<ClickHouseCompactResult>;
  /** Inserts rows as JSONEachRow into a table of this database; keys are column names. */
  insert(table: string, rows: readonly Record<string, unknown>[]): Promise<void>;
  /** True when the server answers /ping. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Settings sent with one query (URL parameters, in this order). */
export type ClickHouseQuerySettings = Readonly<Record<string, string | number>>;

export interface ClickHouseCompactResult {
  readonly meta: readonly { readonly name: string; readonly type: string }[];
  readonly data: readonly (readonly unknown[])[];
  readonly statistics?: { readonly elapsed: number; readonly rows_read: number; readonly bytes_read: number };
}

export class ClickHouseQueryError extends Error {
  /** ClickHouse's numeric error code (e.g. 60 = unknown table), when the server sent one. */
  readonly code: number | undefined;
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'ClickHouseQueryError';
    const match = /Code: (\d+)[.,]/.exec(message);
    this.code = match ? Number(match[1]) : undefined;
  }
}

const wrap = async <T>(what: string, work: () => Promise<T>): Promise<T> => {
  try {
    return await work();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ClickHouseQueryError(`ClickHouse ${what} failed: ${message.trim()}`, error);
  }
};

const clientFor = (url: string, database?: string): ClickHouseClient =>
  createClient({
    url,
    ...(database === undefined ? {} : { database }),
    clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    log: { level: ClickHouseLogLevel.OFF },
  });

/** Where the client points, without any password. */
const describe = (url: string): string => {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || (parsed.protocol === 'https:' ? '8443' : '8123')}`;
  } catch {
    return '(unparseable ClickHouse URL)';
  }
};

export const createClickHouse = async (options: ClickHouseOptions): Promise<ClickHouse> => {
  const where = describe(options.url);
  const bootstrap = clientFor(options.url);
  try {
    const ping = await bootstrap.ping();
    if (!ping.success) throw ping.error;
    await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${chIdentifier(options.database)}` });
  } catch (error) {
    const reason = error instanceof Error ? error.message.trim() : String(error);
    throw new Error(`cannot use ClickHouse at ${where} (database ${options.database}): ${reason}`, { cause: error });
  } finally {
    await bootstrap.close();
  }
  const client = clientFor(options.url, options.database);

  return {
    database: options.database,
    exec: (sql) => wrap('statement', async () => {
      await client.command({ query: sql });
    }),
    query: <T>(sql: string) => wrap('query', async () => {
      const result = await client.query({ query: sql, format: 'JSONEachRow' });
      return result.json<T>();
    }),
    stream: <T>(sql: string, settings: ClickHouseQuerySettings = {}) => wrap('query', async () => {
      const result = await client.query({ query: sql, format: 'JSONEachRow', clickhouse_settings: settings as ClickHouseSettings });
      const rows = async function* (): AsyncGenerator<T> {
        const stream = result.stream<T>();
        try {
          for await (const batch of stream) {
            for (const row of batch) yield row.json<T>();
          }
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          throw new ClickHouseQueryError(`ClickHouse query failed: ${message.trim()}`, error);
        } finally {
          // Ends the HTTP response (and so the query) when the reader stopped early.
          if (!stream.destroyed) stream.destroy();
        }
      };
      return rows();
    }),
    queryCompact: (sql, settings = {}) => wrap('query', async () => {
      const result = await client.query({ query: sql, format: 'JSONCompact', clickhouse_settings: settings as ClickHouseSettings });
      return result.json<unknown>() as Promise<ClickHouseCompactResult>;
    }),
    insert: (table, rows) => wrap(`insert into ${table}`, async () => {
      if (rows.length === 0) return;
      await client.insert({ table: chIdentifier(table), values: [...rows], format: 'JSONEachRow' });
    }),
    ping: async () => (await client.ping()).success,
    close: () => client.close(),
  };
};
