/**
 * What every projection runner shares: join the consumer group, start each assigned partition at
 * the position the projection stored with its rows, apply batches in order, and let callers wait
 * for a position (read-your-writes). Only how a batch is applied and where positions live differ.
 *
 * Supervised (supervisor.ts): when the subscription fails (a batch, loading positions, the log
 * itself), the consumer forgets what it owned, waits as the supervisor says and subscribes again,
 * resuming from the stored positions; waits for positions keep waiting meanwhile. A failure is
 * pinned to the record that caused it (a failed batch is applied again entry by entry), so a poison
 * record stops the consumer right before it, and every wait then fails with ConsumerStoppedError.
 * Entries of the room events topic pass the log contract's checks first (roomLogContract.ts).
 */
import { createGroupCommit, createKeyedQueue, ROOM_EVENTS_TOPIC, type GroupCommit } from '../../domain/index.ts';
import type { ConsumerLatency, LogBatch, LogEntry, RoomLog, Subscription } from '../../domain/ports/index.ts';
import { RecordFailure } from './failures.ts';
import { PositionWaiters } from './positionWaiters.ts';
import type { ProjectionLogger } from './projection.ts';
import { createRoomLogContract, type LogContract } from './roomLogContract.ts';
import { createSupervisor, type Supervisor } from './supervisor.ts';

export interface ConsumeOptions {
  readonly name: string;
  readonly topic: string;
  readonly log: RoomLog;
  /** Consumer group; default `projection.<name>`. */
  readonly group?: string | undefined;
  readonly maxBatchSize?: number | undefined;
  /** Passed to the log's subscription (SubscribeOptions.latency). */
  readonly latency?: ConsumerLatency | undefined;
  readonly logger: ProjectionLogger;
  /** The next offset stored for each of `partitions` (absent: start at 0). */
  loadPositions(partitions: readonly number[]): Promise<ReadonlyMap<number, number>>;
  /**
   * Applies a batch durably with its position; resolves with the partition's next offset, or
   * undefined when the batch held nothing new. `stored` is the partition's position before it.
   * `deferrable`: nobody waits on this batch (the log delivered it to a consumer that may take
   * records late), so its statements may yield to those a request waits for (TransactionOptions).
   */
  apply(batch: LogBatch, stored: number | undefined, deferrable: boolean): Promise<number | undefined>;
  onRevoked?(partitions: readonly number[]): void;
  /** Reports failures and decides retries; default: one of its own with the default policy. */
  readonly supervisor?: Supervisor | undefined;
  /** Checks entries before they are applied; default: the room log contract on ROOM_EVENTS_TOPIC. */
  readonly contract?: LogContract | null | undefined;
}

export interface RunningConsumer {
  readonly name: string;
  /** Finishes the batch in flight, then leaves the group. */
  stop(): Promise<void>;
  /** Resolves after stop(); rejects when a poison record stopped the consumer (transient failures are retried). */
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
  const supervision = (options.supervisor ?? createSupervisor({ logger })).register(name);
  const contract = options.contract === undefined ? (topic === ROOM_EVENTS_TOPIC ? createRoomLogContract() : undefined) : options.contract ?? undefined;
  const waiters = new PositionWaiters(async (partition) => (await options.loadPositions([partition])).get(partition));
  /** Each partition's batches and local entries apply one at a time. */
  const partitions = createKeyedQueue<number>();

  /** A delivered batch of a consumer that may take records late has nobody waiting on it. */
  const deferrable = options.latency === 'soon' || options.latency === 'background';

  /** Applies entries of one partition from the stored position and moves the position on. */
  const applyAndAdvance = async (batch: LogBatch): Promise<void> => {
    const next = await options.apply(batch, waiters.position(batch.partition), deferrable);
    // Revoked meanwhile: the position belongs to the partition's next owner (who reads it from
    // the database, where the compare-and-set kept it exact).
    const current = waiters.position(batch.partition);
    if (next !== undefined && current !== undefined && next > current) waiters.update(batch.partition, next);
  };

  /**
   * Applies a batch the log delivered: the entries before a contract violation, and when the batch
   * fails as a whole, entry by entry, so the failure is pinned to its record (the entries before
   * it are applied, and a failure that has passed meanwhile costs nothing more).
   */
  const applyDelivered = async (batch: LogBatch): Promise<void> => {
    const violation = contract?.check(batch.partition, batch.entries);
    const entries = violation === undefined ? batch.entries : batch.entries.slice(0, violation.index);
    if (entries.length > 0) {
      try {
        await applyAndAdvance({ ...batch, entries });
      } catch (error) {
        if (entries.length === 1) throw new RecordFailure(entries[0]!, error);
        for (const entry of entries) {
          try {
            await applyAndAdvance({ ...batch, entries: [entry] });
          } catch (entryError) {
            throw new RecordFailure(entry, entryError);
          }
        }
      }
    }
    if (violation !== undefined) throw new RecordFailure(batch.entries[violation.index]!, violation.error);
  };

  /**
   * Applies locally appended entries (one item per applyAppended call) in one transaction; answers
   * per item whether it is applied now.
   */
  const applyQueued = async (partition: number, queued: readonly (readonly LogEntry[])[]): Promise<boolean[]> => {
    const stored = waiters.position(partition);
    // Contiguous from the stored position, in offset order; the rest is left to the consumer.
    const entries = queued.flat().sort((a, b) => a.offset - b.offset);
    let run: LogEntry[] = [];
    let expected = stored;
    for (const entry of entries) {
      if (expected === undefined) break;
      if (entry.offset < expected) continue;
      if (entry.offset !== expected) break;
      run.push(entry);
      expected++;
    }
    // A record breaking the contract is left to the consumer, which stops on it.
    const violation = run.length === 0 ? undefined : contract?.check(partition, run);
    if (violation !== undefined) run = run.slice(0, violation.index);
    let next = stored;
    if (stored !== undefined && run.length > 0) {
      try {
        next = await options.apply({ topic, partition, entries: run, highWatermark: run[run.length - 1]!.offset + 1 }, stored, false) ?? stored;
        const current = waiters.position(partition);
        if (current !== undefined && next > current) waiters.update(partition, next);
      } catch (error) {
        logger.warn({ projection: name, partition, offset: run[0]!.offset, err: error },
          'applying appended entries failed; the consumer applies them');
        next = stored;
      }
    }
    return queued.map((item) => next !== undefined && item[item.length - 1]!.offset < next);
  };
  /**
   * Group commit for locally appended entries, in the partition's queue: whatever arrives while the
   * partition is busy is applied in the next transaction together, so the fast path keeps up as
   * batches would.
   */
  const appended = new Map<number, GroupCommit<readonly LogEntry[], boolean>>();
  const appendedTo = (partition: number): GroupCommit<readonly LogEntry[], boolean> => {
    let commit = appended.get(partition);
    if (commit === undefined) {
      commit = createGroupCommit((queued) => applyQueued(partition, queued), { schedule: (start) => void partitions.run(partition, start) });
      appended.set(partition, commit);
    }
    return commit;
  };

  const forgetOwned = (): void => {
    const owned = [...waiters.owned().keys()];
    if (owned.length === 0) return;
    waiters.forget(owned);
    contract?.forget(owned);
    options.onRevoked?.(owned);
  };

  const subscribe = (): Promise<Subscription> => options.log.subscribe(
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
        supervision.running();
        return starts;
      },
      onRevoked: async (_topic, partitions) => {
        waiters.forget(partitions);
        contract?.forget(partitions);
        options.onRevoked?.(partitions);
      },
      onBatch: async (batch) => {
        if (batch.topic !== topic) throw new Error(`projection ${name} subscribed to ${topic} got a batch of ${batch.topic}`);
        if (batch.entries.length === 0) return;
        await partitions.run(batch.partition, () => applyDelivered(batch));
        supervision.progressed();
      },
    },
  );

  let stopping = false;
  let current: Subscription | undefined;
  try {
    current = await subscribe();
  } catch (error) {
    // Failing to start is the caller's to handle (start-up fails), not a supervised failure.
    supervision.closed();
    throw error;
  }
  let wakeFromBackoff: () => void = () => undefined;

  /** Watches the subscription; after a failure, retries as the supervisor says or stops for good. */
  const supervise = async (): Promise<void> => {
    for (;;) {
      let failure: unknown;
      try {
        if (current === undefined) current = await subscribe();
        await current.done;
        if (stopping) return;
        failure = new Error(`the log ended the ${name} subscription unasked`);
      } catch (error) {
        failure = error;
      }
      current = undefined;
      if (stopping) return;
      // Whatever this member owned may be another's (or applied by another) when it rejoins.
      forgetOwned();
      const verdict = supervision.failed(failure);
      if (!verdict.retry) throw verdict.error;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, verdict.delayMs);
        wakeFromBackoff = () => { clearTimeout(timer); resolve(); };
      });
      if (stopping) return;
    }
  };

  const done = supervise().then(
    () => {
      supervision.closed();
      waiters.end();
    },
    (error: unknown) => {
      waiters.end(error);
      throw error;
    },
  );
  // The caller observes `done`; an early failure must not surface as an unhandled rejection first.
  done.catch(() => undefined);

  return {
    name,
    stop: async () => {
      stopping = true;
      wakeFromBackoff();
      await current?.stop();
      await done.catch(() => undefined);
    },
    done,
    position: (partition) => waiters.position(partition),
    waitFor: (partition, offset, timeoutMs) => waiters.waitFor(partition, offset, timeoutMs),
    applyAppended: (entries) => {
      const first = entries[0];
      if (first === undefined) return Promise.resolve(true);
      if (first.topic !== topic) return Promise.resolve(false);
      return appendedTo(first.partition).add(entries);
    },
  };
};
