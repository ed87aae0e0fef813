/**
 * What every projection runner shares: join the consumer group, start each assigned partition at
 * the position the projection stored with its rows, apply batches in order, and let callers wait
 * for a position (read-your-writes). Only how a batch is applied and where positions live differ.
 */
import type { LogBatch, LogEntry, RoomLog } from '../../domain/ports/index.ts';
import { PositionWaiters } from './positionWaiters.ts';
import type { ProjectionLogger } from './projection.ts';

export interface ConsumeOptions {
  readonly name: string;
  readonly topic: string;
  readonly log: RoomLog;
  /** Consumer group; default `projection.<name>`. */
  readonly group?: string | undefined;
  readonly maxBatchSize?: number | undefined;
  /** Passed to the log's subscription (SubscribeOptions.latency). */
  readonly latency?: 'prompt' | 'background' | undefined;
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
  /**
   * Applies entries this process has just appended, without waiting for the log to deliver them:
   * resolves true once they are applied (by this call or already before), false when this process
   * cannot apply them now (it does not own the partition, or earlier offsets are not applied yet),
   * and the consumer then applies them as usual. One partition's batches and local entries run one
   * at a time, in the order they arrive. The entries must be exactly what the log will deliver.
   */
  applyAppended(entries: readonly LogEntry[]): Promise<boolean>;
}

export const consumeWithPositions = async (options: ConsumeOptions): Promise<RunningConsumer> => {
  const { name, topic, logger } = options;
  const waiters = new PositionWaiters(async (partition) => (await options.loadPositions([partition])).get(partition));
  /** The tail of each partition's queue: its batches and local entries apply one at a time. */
  const tails = new Map<number, Promise<unknown>>();
  const serially = <T>(partition: number, work: () => Promise<T>): Promise<T> => {
    const result = (tails.get(partition) ?? Promise.resolve()).then(work);
    const tail = result.then(() => undefined, () => undefined);
    tails.set(partition, tail);
    void tail.then(() => {
      if (tails.get(partition) === tail) tails.delete(partition);
    });
    return result;
  };

  /**
   * Group commit for locally appended entries: whatever arrives while the partition is busy is
   * applied in the next transaction together, so the fast path keeps up as batches would.
   */
  const appended = new Map<number, { entries: readonly LogEntry[]; settle: (applied: boolean) => void }[]>();
  const applyQueued = async (partition: number): Promise<void> => {
    const queued = appended.get(partition) ?? [];
    appended.delete(partition);
    const stored = waiters.position(partition);
    // Contiguous from the stored position, in offset order; the rest is left to the consumer.
    const entries = queued.flatMap((item) => item.entries).sort((a, b) => a.offset - b.offset);
    const run: LogEntry[] = [];
    let expected = stored;
    for (const entry of entries) {
      if (expected === undefined) break;
      if (entry.offset < expected) continue;
      if (entry.offset !== expected) break;
      run.push(entry);
      expected++;
    }
    let next = stored;
    if (stored !== undefined && run.length > 0) {
      try {
        next = await options.apply({ topic, partition, entries: run, highWatermark: expected! }, stored) ?? stored;
        // Revoked meanwhile: the position belongs to the partition's next owner (who reads it
        // from the database, where the compare-and-set kept it exact).
        const current = waiters.position(partition);
        if (current !== undefined && next > current) waiters.update(partition, next);
      } catch (error) {
        logger.warn({ projection: name, partition, offset: run[0]!.offset, err: error },
          'applying appended entries failed; the consumer applies them');
        next = stored;
      }
    }
    for (const item of queued) {
      const last = item.entries[item.entries.length - 1]!.offset;
      item.settle(next !== undefined && last < next);
    }
  };

  const subscription = await options.log.subscribe(
    {
      group: options.group ?? `projection.${name}`, topic,
      ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
      ...(options.latency === undefined ? {} : { latency: options.latency }),
    },
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
        await serially(batch.partition, async () => {
          const next = await options.apply(batch, waiters.position(batch.partition));
          if (next !== undefined) waiters.update(batch.partition, next);
        });
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
    applyAppended: (entries) => {
      const first = entries[0];
      if (first === undefined) return Promise.resolve(true);
      if (first.topic !== topic) return Promise.resolve(false);
      return new Promise<boolean>((settle) => {
        let queued = appended.get(first.partition);
        if (queued === undefined) {
          appended.set(first.partition, (queued = []));
          void serially(first.partition, () => applyQueued(first.partition));
        }
        queued.push({ entries, settle });
      });
    },
  };
};
