/**
 * The projection_positions table: for each projection and partition, the next log offset to apply
 * and the projection version that wrote it. It lives in the read model's own database so a batch's
 * rows and its position commit together.
 */
import type { LogEntry, SqlDatabase, SqlExecutor, SqlStatement, TransactionOptions } from '../../domain/ports/index.ts';
import type { Projection } from './projection.ts';

export const POSITIONS_SCHEMA = `CREATE TABLE IF NOT EXISTS projection_positions (
  projection text NOT NULL,
  topic text NOT NULL,
  partition integer NOT NULL,
  next_offset bigint NOT NULL,
  version integer NOT NULL,
  PRIMARY KEY (projection, topic, partition)
)`;

/** Creates projection_positions and the projection's own tables. */
export const ensureSchema = async (db: SqlDatabase, projection: Projection): Promise<void> => {
  await db.query(POSITIONS_SCHEMA);
  for (const statement of projection.schema) await db.query(statement);
};

/** Stored next offsets of the given partitions; a partition never applied is absent. */
export const loadPositions = async (
  db: SqlExecutor, projection: Projection, partitions: readonly number[],
): Promise<Map<number, number>> => {
  const { rows } = await db.query<{ partition: number; next_offset: number }>(
    `SELECT partition, next_offset FROM projection_positions
     WHERE projection = $1 AND topic = $2 AND partition = ANY($3::integer[])`,
    [projection.name, projection.topic, [...partitions]],
  );
  return new Map(rows.map((row) => [row.partition, Number(row.next_offset)]));
};

/** Versions recorded for this projection (more than one only after an interrupted upgrade). */
export const storedVersions = async (db: SqlExecutor, projection: Projection): Promise<number[]> => {
  const { rows } = await db.query<{ version: number }>(
    'SELECT DISTINCT version FROM projection_positions WHERE projection = $1 AND topic = $2',
    [projection.name, projection.topic],
  );
  return rows.map((row) => row.version);
};

/** Empties the projection's tables and forgets its positions, atomically. */
export const resetProjection = async (db: SqlDatabase, projection: Projection): Promise<void> => {
  await db.transaction(async (tx) => {
    if (projection.tables.length > 0) await tx.query(`TRUNCATE ${projection.tables.join(', ')}`);
    await tx.query('DELETE FROM projection_positions WHERE projection = $1 AND topic = $2',
      [projection.name, projection.topic]);
  });
};

/**
 * `statements` with each run of consecutive row statements (SqlStatement.rows) of one text joined
 * into one: a batch's search rows, say, go in one INSERT instead of one each. Independent row
 * statements (SqlStatement.independent) are joined per text wherever they are, and run last.
 */
export const joinRowStatements = (statements: readonly SqlStatement[]): SqlStatement[] => {
  const joined: SqlStatement[] = [];
  const independent = new Map<string, unknown[][]>();
  const append = (columns: unknown[][], statement: SqlStatement): void => {
    (statement.values ?? []).forEach((column, i) => { for (const value of column as readonly unknown[]) columns[i]!.push(value); });
  };
  let columns: unknown[][] | undefined;
  for (const statement of statements) {
    if (statement.rows === true && statement.independent === true) {
      const known = independent.get(statement.text);
      if (known === undefined) independent.set(statement.text, (statement.values ?? []).map((column) => [...(column as readonly unknown[])]));
      else append(known, statement);
      continue;
    }
    const last = joined[joined.length - 1];
    if (statement.rows !== true || last?.rows !== true || last.text !== statement.text || columns === undefined) {
      columns = statement.rows === true ? (statement.values ?? []).map((column) => [...(column as readonly unknown[])]) : undefined;
      joined.push(columns === undefined ? statement : { text: statement.text, values: columns, rows: true });
      continue;
    }
    append(columns, statement);
  }
  for (const [text, values] of independent) joined.push({ text, values, rows: true, independent: true });
  return joined;
};

/** The statements of `entries` from `from` on, refusing a hole; returns them and the next offset. */
const statementsFrom = (
  projection: Projection, partition: number, from: number, entries: readonly LogEntry[],
): { statements: SqlStatement[]; next: number } => {
  const fresh = entries.filter((entry) => entry.offset >= from);
  if (fresh.length > 0 && fresh[0]!.offset !== from) {
    throw new Error(`projection ${projection.name}: partition ${partition} expected offset ${from} `
      + `but the log delivered ${fresh[0]!.offset}; refusing to skip records`);
  }
  let next = from;
  const statements: SqlStatement[] = [];
  for (const entry of fresh) {
    if (entry.offset !== next) {
      throw new Error(`projection ${projection.name}: partition ${partition} batch jumps from offset `
        + `${next} to ${entry.offset}`);
    }
    next++;
    statements.push(...projection.evolve(entry));
  }
  return { statements: joinRowStatements(statements), next };
};

/** In the error a failed compare-and-set raises. */
const POSITION_MOVED = 'strata projection position moved';

const positionMoved = (error: unknown): boolean => error instanceof Error && error.message.includes(POSITION_MOVED);

/**
 * Moves the position from `expected` to `next` only if it still is `expected`, taking the row's
 * lock doing so, and fails (an invalid cast naming POSITION_MOVED) otherwise, which aborts the
 * transaction however many statements were sent behind it. As the transaction's first statement
 * it makes a competing applier block until this transaction ends and then find the position
 * moved. A partition never applied has no row, so from offset 0 the row is inserted (a concurrent
 * insert conflicts and fails the same comparison). The failing branch depends on count(*), so the
 * planner cannot fold it into an error up front.
 */
const compareAndSetPosition = (projection: Projection, partition: number, expected: number, next: number): SqlStatement => {
  const swap = expected === 0
    ? `INSERT INTO projection_positions (projection, topic, partition, next_offset, version)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (projection, topic, partition)
       DO UPDATE SET next_offset = EXCLUDED.next_offset, version = EXCLUDED.version
       WHERE projection_positions.next_offset = 0 RETURNING 1`
    : `UPDATE projection_positions SET next_offset = $4, version = $5
       WHERE projection = $1 AND topic = $2 AND partition = $3 AND next_offset = $6 RETURNING 1`;
  return {
    text: `WITH swapped AS (${swap})
           SELECT CASE WHEN count(*) = 1 THEN 1 ELSE ('${POSITION_MOVED}: ' || count(*))::int END AS swapped FROM swapped`,
    values: expected === 0
      ? [projection.name, projection.topic, partition, next, projection.version]
      : [projection.name, projection.topic, partition, next, projection.version, expected],
  };
};

/**
 * A read model's transaction commits without waiting for its WAL to reach the disk. The log is the
 * source of truth and a batch's position commits with its rows, so what an operating-system crash
 * can take (the last moments of commits; a PostgreSQL crash alone takes nothing) is rows and
 * position together, and the consumer applies those records again from the log. Waiting for the
 * flush put a disk sync into every message's delivery. Data kept only in the database (accounts,
 * keys, content keys) keeps synchronous commits: it never goes through here.
 */
const ASYNC_COMMIT: SqlStatement = { text: 'SET LOCAL synchronous_commit TO off' };

/** The statements in order in one transaction, sent together where the database can. */
const runTogether = async (db: SqlDatabase, statements: readonly SqlStatement[], options: TransactionOptions): Promise<void> => {
  if (db.transactionOf !== undefined) {
    await db.transactionOf([ASYNC_COMMIT, ...statements], options);
    return;
  }
  await db.transaction(async (tx) => {
    await tx.query(ASYNC_COMMIT.text);
    const answers = await Promise.allSettled(statements.map((statement) => tx.query(statement.text, statement.values)));
    const failed = answers.find((answer) => answer.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  });
};

/**
 * Applies one partition's entries in ONE transaction: the statements of every entry not yet applied
 * plus the new position. Entries the log delivers again (a rebalance, a consumer that lost its
 * partition but still ran a batch, a record the writer already applied locally) are skipped instead
 * of applied twice, and a hole in the offsets stops the projection instead of losing records.
 *
 * With `expected` (the position this process last saw stored) the position is compared-and-set
 * first instead of read: BEGIN, the swap, the entries' statements and COMMIT go out together (one
 * round trip on PostgreSQL). If another applier moved the position meanwhile, that transaction
 * rolls back and the batch is applied again after reading the stored position under a row lock.
 * Returns the partition's next offset after the batch. `options` go to that transaction.
 */
export const applyBatch = async (
  db: SqlDatabase, projection: Projection, partition: number, entries: readonly LogEntry[], expected?: number,
  options: TransactionOptions = {},
): Promise<number> => {
  if (entries.length === 0) throw new Error(`projection ${projection.name}: empty batch for partition ${partition}`);
  const last = entries[entries.length - 1]!.offset;
  if (expected !== undefined && last < expected) return expected;
  if (expected !== undefined && entries.some((entry) => entry.offset === expected)) {
    const { statements, next } = statementsFrom(projection, partition, expected, entries);
    try {
      await runTogether(db, [compareAndSetPosition(projection, partition, expected, next), ...statements], options);
      return next;
    } catch (error) {
      if (!positionMoved(error)) throw error;
    }
  }
  const key = [projection.name, projection.topic, partition] as const;
  return db.transaction(async (tx) => {
    await tx.query(ASYNC_COMMIT.text);
    const { rows } = await tx.query<{ next_offset: number }>(
      `SELECT next_offset FROM projection_positions
       WHERE projection = $1 AND topic = $2 AND partition = $3 FOR UPDATE`, key);
    const stored = rows.length === 0 ? 0 : Number(rows[0]!.next_offset);
    const { statements, next } = statementsFrom(projection, partition, stored, entries);
    if (next === stored) return stored;
    for (const statement of statements) await tx.query(statement.text, statement.values);
    await tx.query(
      `INSERT INTO projection_positions (projection, topic, partition, next_offset, version)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (projection, topic, partition)
       DO UPDATE SET next_offset = EXCLUDED.next_offset, version = EXCLUDED.version`,
      [...key, next, projection.version]);
    return next;
  });
};
