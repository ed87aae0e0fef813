/**
 * The SQL port on PGlite: PostgreSQL compiled to WebAssembly, running inside this process with its
 * data directory on disk. It is the default read-model store, so a single `npm start` needs no
 * database server.
 *
 * PGlite has one connection. Its own mutex runs a transaction exclusively: plain queries issued
 * meanwhile wait until it commits or rolls back, so transactions are serialised, never interleaved.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir } from 'node:fs/promises';
import { PGlite, types } from '@electric-sql/pglite';
import type { SqlDatabase, SqlExecutor, SqlParam, SqlResult } from '../../domain/ports/index.ts';
import { parseInt8, rowCountOf, unstorableTextError } from '../postgres/sqlTypes.ts';

export interface PgliteOptions {
  /** Data directory; created if missing. One process at a time may open it. */
  readonly dir: string;
}

interface PgliteTarget {
  query<T>(query: string, params?: unknown[]): Promise<{ rows: T[]; rowCount?: number; affectedRows?: number }>;
}

const run = async <Row>(target: PgliteTarget, text: string, values?: readonly SqlParam[]): Promise<SqlResult<Row>> => {
  let result;
  try {
    result = await target.query<Row>(text, values === undefined ? undefined : [...values]);
  } catch (error) {
    throw unstorableTextError(error);
  }
  return { rows: result.rows, rowCount: rowCountOf(result.rowCount ?? result.affectedRows, result.rows) };
};

export const createPgliteDatabase = async (options: PgliteOptions): Promise<SqlDatabase> => {
  await mkdir(options.dir, { recursive: true });
  // relaxedDurability stays off: every statement reaches the files before its promise resolves, so
  // a killed process loses nothing that was reported committed.
  const pglite = await PGlite.create({ dataDir: options.dir, parsers: { [types.INT8]: parseInt8 } });
  // With one connection, using the database instead of `tx` inside a transaction would wait for the
  // transaction itself forever; fail fast instead.
  const inTransaction = new AsyncLocalStorage<true>();
  const outsideTransaction = (what: string): void => {
    if (inTransaction.getStore()) {
      throw new Error(`PGlite: ${what} called inside a transaction; use the transaction's executor`);
    }
  };

  const query = async <Row = Record<string, unknown>>(text: string, values?: readonly SqlParam[]) => {
    outsideTransaction('query');
    return run<Row>(pglite, text, values);
  };

  const transaction = async <T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> => {
    outsideTransaction('transaction');
    return pglite.transaction((pgTx) => {
      const tx: SqlExecutor = { query: (text, values) => run(pgTx, text, values) };
      return inTransaction.run(true, () => work(tx));
    });
  };

  return { query, transaction, close: () => pglite.close() };
};
