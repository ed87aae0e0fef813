/**
 * What every projection runner shares: join the consumer group, start each assigned partition at
 * the position the projection stored with its rows, apply batches in order, and let callers wait
 * for a position (read-your-writes). Only how a batch is applied and where positions live differ.
 */
import type { LogBatch, RoomLog } from '../../domain/ports/index.ts';
import { PositionWaiters } from './positionWaiters.ts';
import type { ProjectionLogger } from './projection.ts';

export interface ConsumeOptions {
  readonly name: string;
  readonly topic: string;
  readonly log: RoomLog;
  /** Consumer group; default `projection.<name>`. */
  readonly group?: string | undefined;
  readonly maxBatchSize?: number | undefined;
  readonly logger: ProjectionLogger;
  /** The next offset stored for each of `partitions` (absent: start at 0). */
  loadPositions(partitions: readonly number[]): Promise<ReadonlyMap<number, number>>;
  /**
   * Applies a batch durably with its position; resolves with the partition's next offset, or
   * undefined when the batch held nothing new. `stored` is the partition's position before it.
   */
  apply(batch: LogBatch, stored: number | undefined): Promise<number | undefined>;
  onRevoked?(partitions: readonly number[]): void;
}

export interface RunningConsumer {
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
}

export const consumeWithPositions = async (options: ConsumeOptions): Promise<RunningConsumer> => {
  const { name, topic, logger } = options;
  const waiters = new PositionWaiters(async (partition) => (await options.loadPositions([partition])).get(partition));

  const subscription = await options.log.subscribe(
    { group: options.group ?? `projection.${name}`, topic, ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }) },
    {
      onAssigned: async (_topic, partitions) => {
        const stored = await options.loadPositions(partitions);
        const starts = new Map(partitions.map((partition) => [partition, stored.get(partition) ?? 0]));
        for (const [partition, next] of starts) waiters.update(partition, next);
        logger.info({ projection: name, partitions: Object.fromEntries(starts) }, 'projection partitions assigned');
        return starts;
      },
      onRevoked: async (_topic, partitions) => {
        waiters.forget(partitions);
        options.onRevoked?.(partitions);
      },
      onBatch: async (batch) => {
        if (batch.topic !== topic) throw new Error(`projection ${name} subscribed to ${topic} got a batch of ${batch.topic}`);
        if (batch.entries.length === 0) return;
        const next = await options.apply(batch, waiters.position(batch.partition));
        if (next !== undefined) waiters.update(batch.partition, next);
      },
    },
  );

  const done = subscription.done.then(
    () => waiters.end(),
    (error: unknown) => {
      logger.warn({ projection: name, err: error }, 'projection stopped on error');
      waiters.end(error);
      throw error;
    },
  );
  // The caller observes `done`; an early failure must not surface as an unhandled rejection first.
  done.catch(() => undefined);

  return {
    name,
    stop: async () => {
      await subscription.stop();
      await done.catch(() => undefined);
    },
    done,
    position: (partition) => waiters.position(partition),
    waitFor: (partition, offset, timeoutMs) => waiters.waitFor(partition, offset, timeoutMs),
  };
};
