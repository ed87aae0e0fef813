/**
 * Runs a projection as a member of a consumer group: each partition's batches are applied with
 * their position in one transaction (positions.ts), so the read model survives kill -9 at any
 * instant with every record applied exactly once. A stored version different from the code's
 * triggers a rebuild from offset 0 before consuming.
 */
import type { ConsumerLatency, LogEntry, RoomLog, SqlDatabase } from '../../domain/ports/index.ts';
import { consumeWithPositions, type RunningConsumer } from './consume.ts';
import { applyBatch, ensureSchema, loadPositions, storedVersions } from './positions.ts';
import { silentLogger } from './projection.ts';
import type { Projection, ProjectionLogger, ProjectionMetrics } from './projection.ts';
import { rebuildProjection } from './rebuild.ts';
import type { Supervisor } from './supervisor.ts';

export interface StartProjectionOptions {
  readonly projection: Projection;
  readonly log: RoomLog;
  readonly db: SqlDatabase;
  /** Consumer group; default `projection.<name>`. */
  readonly group?: string;
  readonly maxBatchSize?: number;
  /** Passed to the log's subscription (SubscribeOptions.latency). */
  readonly latency?: ConsumerLatency;
  readonly metrics?: ProjectionMetrics;
  readonly logger?: ProjectionLogger;
  /** Retries transient failures and reports a stop (consume.ts); default: one of its own. */
  readonly supervisor?: Supervisor;
  /**
   * Called after each batch has committed (its rows are readable), e.g. to wake /sync long-polls.
   * Entries the log delivered again may be included. Must not throw.
   */
  readonly onApplied?: (batch: AppliedBatch) => void;
}

export interface AppliedBatch {
  readonly partition: number;
  readonly entries: readonly LogEntry[];
  /** The partition's next offset to apply after the batch. */
  readonly nextOffset: number;
}

export interface RunningProjection extends RunningConsumer {
  /** Records not yet applied per owned partition, as of each partition's last batch. */
  lag(): ReadonlyMap<number, number>;
}

export const startProjection = async (options: StartProjectionOptions): Promise<RunningProjection> => {
  const { projection, log, db } = options;
  const logger = options.logger ?? silentLogger;
  await ensureSchema(db, projection);

  const versions = await storedVersions(db, projection);
  if (versions.some((version) => version !== projection.version)) {
    logger.info({ projection: projection.name, stored: versions, version: projection.version },
      'projection version changed: rebuilding from offset 0');
    const started = Date.now();
    const result = await rebuildProjection({ projection, log, db, maxBatchSize: options.maxBatchSize });
    logger.info({ projection: projection.name, records: result.done, ms: Date.now() - started }, 'projection rebuilt');
  }

  const lags = new Map<number, number>();
  const consumer = await consumeWithPositions({
    name: projection.name,
    topic: projection.topic,
    log,
    group: options.group,
    maxBatchSize: options.maxBatchSize,
    latency: options.latency,
    logger,
    supervisor: options.supervisor,
    loadPositions: (partitions) => loadPositions(db, projection, partitions),
    apply: async (batch, stored, deferrable) => {
      const next = await applyBatch(db, projection, batch.partition, batch.entries, stored, { deferrable });
      lags.set(batch.partition, Math.max(0, batch.highWatermark - next));
      options.metrics?.onBatch(projection.name, batch.partition, next, batch.highWatermark);
      // Entries applied earlier (by this process's writer, or before a rebalance) wake no one again.
      if (stored !== undefined && next <= stored) return undefined;
      options.onApplied?.({ partition: batch.partition, entries: batch.entries, nextOffset: next });
      return next;
    },
    onRevoked: (partitions) => {
      for (const partition of partitions) lags.delete(partition);
    },
  });
  return { ...consumer, lag: () => lags };
};
