/**
 * A projection turns log entries into SQL statements for one read model. The runtime executes a
 * batch's statements together with the new log position in one transaction, so after a crash the
 * read model and its position agree and replay resumes exactly where the rows stop.
 */
import type { LogEntry, SqlStatement } from '../../domain/ports/index.ts';

export interface Projection {
  /** Stable name; keys the stored positions and the default consumer group. */
  readonly name: string;
  /** Bump it when evolve or the schema changes meaning: the next start rebuilds from offset 0. */
  readonly version: number;
  readonly topic: string;
  /**
   * Idempotent DDL (CREATE TABLE IF NOT EXISTS, ALTER TABLE … ADD COLUMN IF NOT EXISTS), run at
   * every start and before a rebuild. One statement per string.
   */
  readonly schema: readonly string[];
  /** The tables this projection owns: emptied (TRUNCATE) on rebuild. */
  readonly tables: readonly string[];
  /** Pure: the statements that apply one entry. May return none. */
  evolve(entry: LogEntry): SqlStatement[];
}

/** Lag reporting, e.g. the prom-client gauge in infra/observability. */
export interface ProjectionMetrics {
  onBatch(projection: string, partition: number, nextOffset: number, highWatermark: number): void;
}

/** Structural subset of pino's logger, so the runtime needs no logging library. */
export interface ProjectionLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  /** For a consumer stopping on a poison record; warn when absent. */
  error?(fields: Record<string, unknown>, message: string): void;
}

export const silentLogger: ProjectionLogger = { info: () => undefined, warn: () => undefined };
