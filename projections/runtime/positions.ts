/**
 * The projection_positions table: for each projection and partition, the next log offset to apply
 * and the projection version that wrote it. It lives in the read model's own database so a batch's
 * rows and its position commit together.
 */
import type { LogEntry, SqlDatabase, SqlExecutor, SqlStatement } from '../../domain/ports/index.ts';
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
 * Applies one partition's entries in ONE transaction: the statements of every entry not yet applied
 * plus the new position. The stored position is read under a row lock first, so entries the log
 * delivers again (a rebalance, a consumer that lost its partition but still ran a batch) are skipped
 * instead of applied twice, and a hole in the offsets stops the projection instead of losing records.
 * Returns the partition's next offset after the batch.
 */
export const applyBatch = async (
  db: SqlDatabase, projection: Projection, partition: number, entries: readonly LogEntry[],
): Promise<number> => {
  if (entries.length === 0) throw new Error(`projection ${projection.name}: empty batch for partition ${partition}`);
  const key = [projection.name, projection.topic, partition] as const;
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ next_offset: number }>(
      `SELECT next_offset FROM projection_positions
       WHERE projection = $1 AND topic = $2 AND partition = $3 FOR UPDATE`, key);
    const stored = rows.length === 0 ? 0 : Number(rows[0]!.next_offset);
    const fresh = entries.filter((entry) => entry.offset >= stored);
    if (fresh.length === 0) return stored;
    if (fresh[0]!.offset !== stored) {
      throw new Error(`projection ${projection.name}: partition ${partition} expected offset ${stored} `
        + `but the log delivered ${fresh[0]!.offset}; refusing to skip records`);
    }
    let expected = stored;
    const statements: SqlStatement[] = [];
    for (const entry of fresh) {
      if (entry.offset !== expected) {
        throw new Error(`projection ${projection.name}: partition ${partition} batch jumps from offset `
          + `${expected} to ${entry.offset}`);
      }
      expected++;
      statements.push(...projection.evolve(entry));
    }
    for (const statement of statements) await tx.query(statement.text, statement.values);
    await tx.query(
      `INSERT INTO projection_positions (projection, topic, partition, next_offset, version)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (projection, topic, partition)
       DO UPDATE SET next_offset = EXCLUDED.next_offset, version = EXCLUDED.version`,
      [...key, expected, projection.version]);
    return expected;
  });
};
