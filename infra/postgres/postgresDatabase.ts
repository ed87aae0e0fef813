/**
 * The SQL port on a real PostgreSQL server through a `pg` connection pool. A transaction holds one
 * pooled client from BEGIN to COMMIT/ROLLBACK; plain queries take any free client.
 */
import pg from 'pg';
import type { SqlDatabase, SqlExecutor, SqlParam, SqlResult } from '../../domain/ports/index.ts';
import { INT8_ARRAY_OID, INT8_OID, describeUrl, parseInt8, rowCountOf } from './sqlTypes.ts';

export interface PostgresOptions {
  /** postgres://user:password@host:port/database */
  readonly url: string;
  /** Pool size (default 10). */
  readonly max?: number;
}

// pg's typings only list scalar type ids; array ids such as int8[] are plain numbers at run time.
const defaultParser = pg.types.getTypeParser as (oid: number, format: 'text' | 'binary') => (text: string) => unknown;

// Per-pool type parsers, so the process-wide pg.types stay untouched for any other pool.
const typeParsers = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return parseInt8;
    if (oid === INT8_ARRAY_OID) {
      const parseArray = defaultParser(INT8_ARRAY_OID, 'text') as (text: string) => (string | null)[];
      return (text: string) => parseArray(text).map((item) => (item === null ? null : parseInt8(item)));
    }
    return defaultParser(oid, format ?? 'text');
  },
};

const run = async <Row>(
  target: pg.Pool | pg.PoolClient, text: string, values?: readonly SqlParam[],
): Promise<SqlResult<Row>> => {
  const result = await target.query(text, values === undefined ? undefined : [...values]);
  const rows = result.rows as Row[];
  return { rows, rowCount: rowCountOf(result.rowCount, rows) };
};

export const createPostgresDatabase = async (options: PostgresOptions): Promise<SqlDatabase> => {
  const where = describeUrl(options.url);
  const pool = new pg.Pool({ connectionString: options.url, max: options.max ?? 10, types: typeParsers });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot connect to PostgreSQL at ${where}: ${reason}`, { cause: error });
  }

  const query = <Row = Record<string, unknown>>(text: string, values?: readonly SqlParam[]) =>
    run<Row>(pool, text, values);

  const transaction = async <T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    const tx: SqlExecutor = { query: (text, values) => run(client, text, values) };
    let discard: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await work(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        // After a failed COMMIT the server has already ended the transaction; ROLLBACK only warns.
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        // A client that cannot roll back is in an unknown state: drop it instead of pooling it.
        discard = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      }
      throw error;
    } finally {
      client.release(discard);
    }
  };

  return { query, transaction, close: () => pool.end() };
};

