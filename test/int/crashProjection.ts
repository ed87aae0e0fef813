/**
 * The projection the crash test runs in a child process: one row per record, keyed by partition +
 * offset with a plain INSERT (no ON CONFLICT), so a record applied twice fails the batch loudly, and
 * a per-partition counter that must end equal to the partition's record count. Every 40th record
 * also sleeps a little inside the transaction, so batches are slow and a SIGKILL lands mid-batch.
 */
import type { LogEntry } from '../../domain/ports/index.ts';
import type { Projection } from '../../projections/runtime/index.ts';

export interface CrashTables {
  readonly rows: string;
  readonly counters: string;
}

export const crashTables = (name: string): CrashTables => ({ rows: `${name}_rows`, counters: `${name}_counters` });

export const crashProjection = (name: string, topic: string): Projection => {
  const { rows, counters } = crashTables(name);
  return {
    name,
    version: 1,
    topic,
    schema: [
      `CREATE TABLE IF NOT EXISTS ${rows} (partition integer NOT NULL, log_offset bigint NOT NULL,
        seq integer NOT NULL, UNIQUE (partition, log_offset))`,
      `CREATE TABLE IF NOT EXISTS ${counters} (partition integer PRIMARY KEY, applied bigint NOT NULL)`,
    ],
    tables: [rows, counters],
    evolve: (entry: LogEntry) => [
      {
        text: `INSERT INTO ${rows} (partition, log_offset, seq) VALUES ($1, $2, $3)`,
        values: [entry.partition, entry.offset, (entry.value as { seq: number }).seq],
      },
      {
        text: `INSERT INTO ${counters} (partition, applied) VALUES ($1, 1)
               ON CONFLICT (partition) DO UPDATE SET applied = ${counters}.applied + 1`,
        values: [entry.partition],
      },
      ...(entry.offset % 40 === 0 ? [{ text: 'SELECT pg_sleep(0.02)' }] : []),
    ],
  };
};
