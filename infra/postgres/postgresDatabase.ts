/**
 * The SQL port on a real PostgreSQL server through two `pg` connection pools. A transaction holds
 * one client of the transaction pool from BEGIN to COMMIT/ROLLBACK; plain queries take any free
 * client of the other. Statements a transaction issues without awaiting each other are pipelined.
 */
import pg from 'pg';
import type { SqlDatabase, SqlExecutor, SqlParam, SqlResult, SqlStatement } from '../../domain/ports/index.ts';
import { coalescingSocket } from './coalescingSocket.ts';
import { INT8_ARRAY_OID, INT8_OID, describeUrl, parseInt8, rowCountOf, unstorableTextError } from './sqlTypes.ts';

export interface PostgresOptions {
  /** postgres://user:password@host:port/database */
  readonly url: string;
  /** Connections for plain queries (default 10). */
  readonly max?: number;
  /**
   * Connections for transactions, apart from the plain queries' (default 4): read-model batches
   * (the projections' transactions) then never queue behind a burst of /sync reads, which would
   * delay every write's read-your-writes wait.
   */
  readonly transactionMax?: number;
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

/**
 * Parameterised statements run as named prepared statements, so each connection parses and plans a
 * statement text once instead of on every call (planning the read models' larger statements costs
 * more than running them). Names are per pool; texts past the cap (SQL built with varying shapes)
 * run unnamed, so the server-side cache stays bounded.
 */
const MAX_PREPARED_STATEMENTS = 500;

type StatementNames = Map<string, string>;

const statementName = (names: StatementNames, text: string): string | undefined => {
  const known = names.get(text);
  if (known !== undefined || names.size >= MAX_PREPARED_STATEMENTS) return known;
  const name = `strata_${names.size + 1}`;
  names.set(text, name);
  return name;
};

const run = async <Row>(
  target: pg.Pool | pg.PoolClient, names: StatementNames, text: string, values?: readonly SqlParam[],
): Promise<SqlResult<Row>> => {
  const name = values === undefined ? undefined : statementName(names, text);
  let result;
  try {
    result = name === undefined
      ? await target.query(text, values === undefined ? undefined : [...values])
      : await target.query({ name, text, values: [...values!] });
  } catch (error) {
    throw unstorableTextError(error);
  }
  const rows = result.rows as Row[];
  return { rows, rowCount: rowCountOf(result.rowCount, rows) };
};

export const createPostgresDatabase = async (options: PostgresOptions): Promise<SqlDatabase> => {
  const where = describeUrl(options.url);
  const stream = coalescingSocket;
  const pool = new pg.Pool({ connectionString: options.url, max: options.max ?? 10, types: typeParsers, stream });
  // Pipelined: a transaction's statements issued together go out together and are answered in
  // order, so BEGIN, a batch of statements and their results cost one round trip, not one each.
  const transactionPool = new pg.Pool({
    connectionString: options.url, max: options.transactionMax ?? 4, types: typeParsers, stream, pipeline: true,
  });
  const end = async (): Promise<void> => {
    await Promise.all([pool.end(), transactionPool.end()]);
  };
  // A client losing its connection (PostgreSQL restarting: 57P01 "terminating connection due to
  // administrator command", a network cut) must not crash the process. pg emits 'error' on the
  // client, and the pool listens only while the client is idle: a client checked out for a
  // transaction has no listener and the error would be uncaught. Every client gets one for its
  // whole life; the statement in flight rejects by itself, the broken client is dropped on
  // release (onClient below), and the next query opens a fresh connection.
  const ignoreConnectionError = (): void => undefined;
  for (const target of [pool, transactionPool]) {
    target.on('error', ignoreConnectionError);
    target.on('connect', (client) => client.on('error', ignoreConnectionError));
  }
  try {
    await Promise.all([pool.query('SELECT 1'), transactionPool.query('SELECT 1')]);
  } catch (error) {
    await end().catch(() => undefined);
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot connect to PostgreSQL at ${where}: ${reason}`, { cause: error });
  }

  const names: StatementNames = new Map();
  const query = <Row = Record<string, unknown>>(text: string, values?: readonly SqlParam[]) =>
    run<Row>(pool, names, text, values);

  /** Runs `work` on one client of the transaction pool; ROLLBACK (or dropping the client) if it fails. */
  const onClient = async <T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await transactionPool.connect();
    let discard: Error | undefined;
    try {
      return await work(client);
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

  // A COMMIT of a transaction that hit an error is answered ROLLBACK, without an error.
  const committed = (answer: pg.QueryResult): void => {
    if (answer.command !== 'COMMIT') throw new Error(`PostgreSQL answered ${answer.command} to COMMIT`);
  };

  const transaction = <T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> => onClient(async (client) => {
    // BEGIN is not awaited: it leaves with the work's first statements. The server reads them in
    // order, so none of them can run outside the transaction (a connection that fails loses them all).
    const begun = client.query('BEGIN');
    begun.catch(() => undefined);
    const result = await work({ query: (text, values) => run(client, names, text, values) });
    await begun;
    committed(await client.query('COMMIT'));
    return result;
  });

  const transactionOf = (statements: readonly SqlStatement[]): Promise<SqlResult[]> => onClient(async (client) => {
    const begun = client.query('BEGIN');
    const results = statements.map((statement) => run<Record<string, unknown>>(client, names, statement.text, statement.values));
    const commit = client.query('COMMIT');
    const answers = await Promise.allSettled([begun, ...results, commit]);
    // The first failure is the cause; every later statement only reports the aborted transaction.
    const failed = answers.find((answer) => answer.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    committed(await commit);
    return Promise.all(results);
  });

  return { query, transaction, transactionOf, close: end };
};

