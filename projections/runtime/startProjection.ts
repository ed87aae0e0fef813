/**
 * Runs a projection as a member of a consumer group: each partition's batches are applied with
 * their position in one transaction (positions.ts), so the read model survives kill -9 at any
 * instant with every record applied exactly once. A stored version different from the code's
 * triggers a rebuild from offset 0 before consuming.
 */
import type { LogBatch, LogEntry, RoomLog, SqlDatabase } from '../../domain/ports/index.ts';
import { PositionWaiters } from './positionWaiters.ts';
import { applyBatch, ensureSchema, loadPositions, storedVersions } from './positions.ts';
import { silentLogger } from './projection.ts';
import type { Projection, ProjectionLogger, ProjectionMetrics } from './projection.ts';
import { rebuildProjection } from './rebuild.ts';

export interface StartProjectionOptions {
  readonly projection: Projection;
  readonly log: RoomLog;
  readonly db: SqlDatabase;
  /** Consumer group; default `projection.<name>`. */
  readonly group?: string;
  readonly maxBatchSize?: number;
  readonly metrics?: ProjectionMetrics;
  readonly logger?: ProjectionLogger;
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

export interface RunningProjection {
  readonly name: string;
  /** Finishes the batch in flight, then leaves the group. */
  stop(): Promise<void>;
  /** Resolves after stop(); rejects if a batch failed (the projection then stops consuming). */
  readonly done: Promise<void>;
  /** Next offset to apply in a partition this process owns; undefined for others. */
  position(partition: number): number | undefined;
  /**
   * Resolves true once `offset` of `partition` is applied (read-your-writes after an append),
   * false after `timeoutMs` or when the projection stops. Works for partitions other members own.
   */
  waitFor(partition: number, offset: number, timeoutMs: number): Promise<boolean>;
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

  const waiters = new PositionWaiters(async (partition) =>
    (await loadPositions(db, projection, [partition])).get(partition));
  const lags = new Map<number, number>();

  const onBatch = async (batch: LogBatch): Promise<void> => {
    if (batch.topic !== projection.topic) {
      throw new Error(`projection ${projection.name} subscribed to ${projection.topic} got a batch of ${batch.topic}`);
    }
    if (batch.entries.length === 0) return;
    const next = await applyBatch(db, projection, batch.partition, batch.entries);
    waiters.update(batch.partition, next);
    options.onApplied?.({ partition: batch.partition, entries: batch.entries, nextOffset: next });
    lags.set(batch.partition, Math.max(0, batch.highWatermark - next));
    options.metrics?.onBatch(projection.name, batch.partition, next, batch.highWatermark);
  };

  const subscription = await log.subscribe(
    { group: options.group ?? `projection.${projection.name}`, topic: projection.topic, maxBatchSize: options.maxBatchSize },
    {
      onAssigned: async (_topic, partitions) => {
        const stored = await loadPositions(db, projection, partitions);
        const starts = new Map(partitions.map((partition) => [partition, stored.get(partition) ?? 0]));
        for (const [partition, next] of starts) waiters.update(partition, next);
        logger.info({ projection: projection.name, partitions: Object.fromEntries(starts) }, 'projection partitions assigned');
        return starts;
      },
      onRevoked: async (_topic, partitions) => {
        waiters.forget(partitions);
        for (const partition of partitions) lags.delete(partition);
      },
      onBatch,
    },
  );

  const done = subscription.done.then(
    () => waiters.end(),
    (error: unknown) => {
      logger.warn({ projection: projection.name, err: error }, 'projection stopped on error');
      waiters.end(error);
      throw error;
    },
  );
  // The caller observes `done`; an early failure must not surface as an unhandled rejection first.
  done.catch(() => undefined);

  return {
    name: projection.name,
    stop: async () => {
      await subscription.stop();
      await done.catch(() => undefined);
    },
    done,
    position: (partition) => waiters.position(partition),
    waitFor: (partition, offset, timeoutMs) => waiters.waitFor(partition, offset, timeoutMs),
    lag: () => lags,
  };
};
