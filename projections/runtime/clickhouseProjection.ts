/**
 * Runs a ClickHouse projection as a member of its own consumer group. Exactly-once answers come
 * from idempotence instead of transactions (see clickhousePositions.ts): each batch's rows are
 * inserted, THEN its position; a crash between the two replays the batch on restart, and the
 * replayed rows collapse onto the ones already there because they share their (partition, offset)
 * key. A stored version different from the code's empties the tables and replays from offset 0.
 * The partitions' batches are inserted together (clickhouseBatches.ts): rows of all of them, then
 * all their positions in one INSERT; a crash in between replays each of them.
 */
import type { RoomLog } from '../../domain/ports/index.ts';
import { consumeWithPositions, type RunningConsumer } from './consume.ts';
import { createFlushQueue, DEFAULT_CLICKHOUSE_BATCH_LIMITS, type ClickHouseBatchLimits } from './clickhouseBatches.ts';
import {
  ensureClickHouseSchema, freshEntries, insertTableRows, loadClickHousePositions, needsRebuild, projectRows,
  resetClickHouseProjection, storeClickHousePositions,
  type ClickHouseExecutor, type ClickHouseProjection, type ClickHouseTableRows,
} from './clickhousePositions.ts';
import { silentLogger, type ProjectionLogger, type ProjectionMetrics } from './projection.ts';
import type { Supervisor } from './supervisor.ts';

export interface StartClickHouseProjectionOptions {
  readonly projection: ClickHouseProjection;
  readonly log: RoomLog;
  readonly clickhouse: ClickHouseExecutor;
  /** Consumer group; default `projection.<name>`. */
  readonly group?: string;
  /** Records per batch the log hands one partition; default DEFAULT_CLICKHOUSE_MAX_BATCH. */
  readonly maxBatchSize?: number;
  /** How the partitions' batches are coalesced into INSERTs; default DEFAULT_CLICKHOUSE_BATCH_LIMITS. */
  readonly batchLimits?: ClickHouseBatchLimits;
  readonly metrics?: ProjectionMetrics;
  readonly logger?: ProjectionLogger;
  /** Retries transient failures and reports a stop (consume.ts); default: one of its own. */
  readonly supervisor?: Supervisor;
}

export type RunningClickHouseProjection = RunningConsumer;

/**
 * Larger than a SQL projection's 500: a partition's batch waits for a shared INSERT anyway, and the
 * log's fetch bounds it in bytes (Kafka) before this does.
 */
export const DEFAULT_CLICKHOUSE_MAX_BATCH = 5_000;

interface PendingBatch {
  readonly partition: number;
  readonly next: number;
  readonly rows: ClickHouseTableRows;
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

  const batches = createFlushQueue<PendingBatch>(options.batchLimits ?? DEFAULT_CLICKHOUSE_BATCH_LIMITS, async (pending) => {
    await insertTableRows(ch, pending.map((batch) => batch.rows));
    await storeClickHousePositions(ch, projection, pending.map(({ partition, next }) => ({ partition, nextOffset: next })));
  });

  return consumeWithPositions({
    name: projection.name,
    topic: projection.topic,
    log,
    group: options.group,
    maxBatchSize: options.maxBatchSize ?? DEFAULT_CLICKHOUSE_MAX_BATCH,
    // Nobody waits on the warehouse at once (no read-your-writes): larger, later batches mean a
    // few fetches and ClickHouse inserts a second instead of one per append, off /sync's event loop.
    latency: 'background',
    logger,
    supervisor: options.supervisor,
    loadPositions: (partitions) => loadClickHousePositions(ch, projection, partitions),
    apply: async (batch, stored) => {
      if (stored === undefined) throw new Error(`projection ${projection.name}: batch for unassigned partition ${batch.partition}`);
      const fresh = freshEntries(projection, batch.partition, stored, batch.entries);
      if (fresh.length === 0) return undefined;
      const next = fresh[fresh.length - 1]!.offset + 1;
      // Rows are made here, so a record evolve rejects fails its own batch only.
      const rows = projectRows(projection, fresh);
      await batches.add({ partition: batch.partition, next, rows }, [...rows.values()].reduce((sum, table) => sum + table.length, 0));
      options.metrics?.onBatch(projection.name, batch.partition, next, batch.highWatermark);
      return next;
    },
  });
};
