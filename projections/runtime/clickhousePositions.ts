/**
 * projection_positions in ClickHouse. ClickHouse has no transactions, so a batch's rows and its
 * position cannot commit together: rows go first, the position after. A crash in between replays
 * the batch, and the projection's tables make that harmless because every row is keyed by its log
 * (partition, offset) and deduplicated (ReplacingMergeTree read with FINAL).
 *
 * Positions only grow within a projection version, so the stored one is `max(next_offset)`: correct
 * before any merge, and immune to a stale write from a member that lost its partition.
 */
import type { LogEntry } from '../../domain/ports/index.ts';
import { chIdentifier, chNumber, chString } from './clickhouseLiterals.ts';

/** The slice of infra/clickhouse's client the runtime uses. */
export interface ClickHouseExecutor {
  exec(sql: string): Promise<void>;
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  insert(table: string, rows: readonly Record<string, unknown>[]): Promise<void>;
}

/** One row for one table; keys are column names. */
export interface ClickHouseRow {
  readonly table: string;
  readonly row: Readonly<Record<string, unknown>>;
}

export interface ClickHouseProjection {
  /** Stable name; keys the stored positions and the default consumer group. */
  readonly name: string;
  /** Bump it when evolve or the schema changes meaning: the next start rebuilds from offset 0. */
  readonly version: number;
  readonly topic: string;
  /**
   * Idempotent DDL, one statement per string. Every table must deduplicate rows that share their
   * log (partition, offset) key, and every query must read it deduplicated (FINAL or GROUP BY).
   */
  readonly schema: readonly string[];
  /**
   * Runs after `schema`: idempotent changes plain DDL cannot express on 18.16 (it has no
   * ADD COLUMN IF NOT EXISTS), e.g. columns an older version's table lacks.
   */
  readonly migrate?: (ch: ClickHouseExecutor) => Promise<void>;
  /** The tables this projection owns: emptied (TRUNCATE) on rebuild. */
  readonly tables: readonly string[];
  /** Pure and deterministic (a replay must produce the same rows): the rows of one entry. */
  evolve(entry: LogEntry): ClickHouseRow[];
}

export const CLICKHOUSE_POSITIONS_TABLE = 'projection_positions';

export const CLICKHOUSE_POSITIONS_SCHEMA = `CREATE TABLE IF NOT EXISTS ${CLICKHOUSE_POSITIONS_TABLE} (
  projection String,
  topic String,
  version UInt32,
  partition UInt32,
  next_offset UInt64
) ENGINE = ReplacingMergeTree(next_offset) ORDER BY (projection, topic, version, partition)`;

const positionFilter = (projection: ClickHouseProjection): string =>
  `projection = ${chString(projection.name)} AND topic = ${chString(projection.topic)}`;

export const ensureClickHouseSchema = async (ch: ClickHouseExecutor, projection: ClickHouseProjection): Promise<void> => {
  await ch.exec(CLICKHOUSE_POSITIONS_SCHEMA);
  for (const statement of projection.schema) await ch.exec(statement);
  await projection.migrate?.(ch);
};

/** Stored next offsets of the projection's current version; a partition never applied is absent. */
export const loadClickHousePositions = async (
  ch: ClickHouseExecutor, projection: ClickHouseProjection, partitions?: readonly number[],
): Promise<Map<number, number>> => {
  const only = partitions === undefined ? '' : partitions.length === 0 ? ' AND 0'
    : ` AND partition IN (${partitions.map(chNumber).join(', ')})`;
  const rows = await ch.query<{ partition: number; next_offset: number }>(
    `SELECT partition, max(next_offset) AS next_offset FROM ${CLICKHOUSE_POSITIONS_TABLE}
     WHERE ${positionFilter(projection)} AND version = ${chNumber(projection.version)}${only}
     GROUP BY partition`);
  return new Map(rows.map((row) => [Number(row.partition), Number(row.next_offset)]));
};

/**
 * Rebuild decision: true when positions exist only for other versions. Once the current version
 * stored one position the rebuild has begun and must not be repeated (it would empty the tables
 * under positions that say the rows are there).
 */
export const needsRebuild = async (ch: ClickHouseExecutor, projection: ClickHouseProjection): Promise<boolean> => {
  const rows = await ch.query<{ version: number }>(
    `SELECT DISTINCT version FROM ${CLICKHOUSE_POSITIONS_TABLE} WHERE ${positionFilter(projection)}`);
  const versions = rows.map((row) => Number(row.version));
  return versions.length > 0 && !versions.includes(projection.version);
};

/** Empties the projection's tables and drops the positions of other versions (a later downgrade must rebuild too). */
export const resetClickHouseProjection = async (ch: ClickHouseExecutor, projection: ClickHouseProjection): Promise<void> => {
  for (const table of projection.tables) await ch.exec(`TRUNCATE TABLE ${chIdentifier(table)}`);
  await ch.exec(`ALTER TABLE ${CLICKHOUSE_POSITIONS_TABLE} DELETE
    WHERE ${positionFilter(projection)} AND version != ${chNumber(projection.version)}`);
};

/** A batch's rows per table, from the projection's evolve (which may throw on a poison record). */
export type ClickHouseTableRows = Map<string, Record<string, unknown>[]>;

export const projectRows = (projection: ClickHouseProjection, entries: readonly LogEntry[]): ClickHouseTableRows => {
  const byTable: ClickHouseTableRows = new Map();
  for (const entry of entries) {
    for (const { table, row } of projection.evolve(entry)) {
      if (!projection.tables.includes(table)) {
        throw new Error(`projection ${projection.name} wrote to ${table}, which is not one of its tables`);
      }
      const rows = byTable.get(table) ?? [];
      rows.push({ ...row });
      byTable.set(table, rows);
    }
  }
  return byTable;
};

/** One INSERT per table for the rows of several batches together. */
export const insertTableRows = async (ch: ClickHouseExecutor, batches: readonly ClickHouseTableRows[]): Promise<void> => {
  const tables = new Set(batches.flatMap((batch) => [...batch.keys()]));
  for (const table of tables) await ch.insert(table, batches.flatMap((batch) => batch.get(table) ?? []));
};

/**
 * Inserts the rows of `entries` (already checked to be the partition's next offsets), one INSERT
 * per table. Exported so tests can stage the crash window: rows written, position not.
 */
export const insertRows = async (
  ch: ClickHouseExecutor, projection: ClickHouseProjection, entries: readonly LogEntry[],
): Promise<void> => insertTableRows(ch, [projectRows(projection, entries)]);

export const storeClickHousePosition = async (
  ch: ClickHouseExecutor, projection: ClickHouseProjection, partition: number, nextOffset: number,
): Promise<void> => storeClickHousePositions(ch, projection, [{ partition, nextOffset }]);

/** Several partitions' positions in one INSERT (the stored position is the max, so order is free). */
export const storeClickHousePositions = async (
  ch: ClickHouseExecutor, projection: ClickHouseProjection, positions: readonly { partition: number; nextOffset: number }[],
): Promise<void> => {
  await ch.insert(CLICKHOUSE_POSITIONS_TABLE, positions.map(({ partition, nextOffset }) => ({
    projection: projection.name, topic: projection.topic, version: projection.version, partition, next_offset: nextOffset,
  })));
};

/**
 * The entries of a batch not yet applied, given the partition's stored next offset; throws on a hole
 * rather than skip records (as the SQL runtime does).
 */
export const freshEntries = (
  projection: ClickHouseProjection, partition: number, stored: number, entries: readonly LogEntry[],
): LogEntry[] => {
  const fresh = entries.filter((entry) => entry.offset >= stored);
  let expected = stored;
  for (const entry of fresh) {
    if (entry.offset !== expected) {
      throw new Error(`projection ${projection.name}: partition ${partition} expected offset ${expected} `
        + `but the log delivered ${entry.offset}; refusing to skip records`);
    }
    expected++;
  }
  return fresh;
};
