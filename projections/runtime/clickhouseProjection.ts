/**
 * Runs a ClickHouse projection as a member of its own consumer group. Exactly-once answers come
 * from idempotence instead of transactions (see clickhousePositions.ts): each batch's rows are
 * inserted, THEN its position; a crash between the two replays the batch on restart, and the
 * replayed rows collapse onto the ones already there because they share their (partition, offset)
 * key. A stored version different from the code's empties the tables and replays from offset 0.
 */
import type { LogBatch, RoomLog } from '../../domain/ports/index.ts';
import {
  ensureClickHouseSchema, freshEntries, insertRows, loadClickHousePositions, needsRebuild,
  resetClickHouseProjection, storeClickHousePosition,
  type ClickHouseExecutor, type ClickHouseProjection,
} from './clickhousePositions.ts';
import { PositionWaiters } from './positionWaiters.ts';
import { silentLogger, type ProjectionLogger, type ProjectionMetrics } from './projection.ts';

export interface StartClickHouseProjectionOptions {
  readonly projection: ClickHouseProjection;
  readonly log: RoomLog;
  readonly clickhouse: ClickHouseExecutor;
  /** Consumer group; default `projection.<name>`. */
  readonly group?: string;
  readonly maxBatchSize?: number;
  readonly metrics?: ProjectionMetrics;
  readonly logger?: ProjectionLogger;
}

export interface RunningClickHouseProjection {
  readonly name: string;
  /** Finishes the batch in flight, then leaves the group. */
  stop(): Promise<void>;
  /** Resolves after stop(); rejects if a batch failed (the projection then stops consuming). */
  readonly done: Promise<void>;
  /** Next offset to apply in a partition this process owns; undefined for others. */
  position(partition: number): number | undefined;
  /** Resolves true once `offset` of `partition` is applied, false after `timeoutMs` or on stop. */
  waitFor(partition: number, offset: number, timeoutMs: number): Promise<boolean>;
}

export const startClickHouseProjection = async (
  options: StartClickHouseProjectionOptions,
): Promise<RunningClickHouseProjection> => {
  const { projection, log, clickhouse: ch } = options;
  const logger = options.logger ?? silentLogger;
  await ensureClickHouseSchema(ch, projection);
  if (await needsRebuild(ch, projection)) {
    // No position of this version exists yet, so every partition starts at 0 below.
    logger.info({ projection: projection.name, version: projection.version },
      'projection version changed: emptying its ClickHouse tables and replaying from offset 0');
    await resetClickHouseProjection(ch, projection);
  }

  const waiters = new PositionWaiters(async (partition) =>
    (await loadClickHousePositions(ch, projection, [partition])).get(partition));

  const onBatch = async (batch: LogBatch): Promise<void> => {
    if (batch.topic !== projection.topic) {
      throw new Error(`projection ${projection.name} subscribed to ${projection.topic} got a batch of ${batch.topic}`);
    }
    const stored = waiters.position(batch.partition);
    if (stored === undefined) throw new Error(`projection ${projection.name}: batch for unassigned partition ${batch.partition}`);
    const fresh = freshEntries(projection, batch.partition, stored, batch.entries);
    if (fresh.length === 0) return;
    const next = fresh[fresh.length - 1]!.offset + 1;
    await insertRows(ch, projection, fresh);
    await storeClickHousePosition(ch, projection, batch.partition, next);
    waiters.update(batch.partition, next);
    options.metrics?.onBatch(projection.name, batch.partition, next, batch.highWatermark);
  };

  const subscription = await log.subscribe(
    { group: options.group ?? `projection.${projection.name}`, topic: projection.topic, maxBatchSize: options.maxBatchSize },
    {
      onAssigned: async (_topic, partitions) => {
        const stored = await loadClickHousePositions(ch, projection, partitions);
        const starts = new Map(partitions.map((partition) => [partition, stored.get(partition) ?? 0]));
        for (const [partition, next] of starts) waiters.update(partition, next);
        logger.info({ projection: projection.name, partitions: Object.fromEntries(starts) }, 'projection partitions assigned');
        return starts;
      },
      onRevoked: async (_topic, partitions) => {
        waiters.forget(partitions);
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
  };
};
