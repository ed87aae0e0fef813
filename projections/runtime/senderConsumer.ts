/**
 * The consumer skeleton of the log senders (push, federation, appservices): consumers that act on
 * the world (push, queue for a remote) instead of building a read model. Each batch's entries past
 * the partition's stored position are handed to `handle`; the position is stored (`checkpoint`) at
 * once when `handle`'s result must be stored beside it, and otherwise at most every
 * POSITION_SAVE_MS (and at a clean stop), so an idle partition costs no write per record and a
 * restart after a crash looks again at up to that much (delivery is at least once). Lag is reported
 * per batch as the projections do.
 *
 * Senders act only on what the rooms projection applied, and that one checks the log contract:
 * no contract is checked here (it would parse every record, which a sender may spare itself).
 */
import type { ConsumerLatency, LogEntry, ProjectionWaiter, RoomLog } from '../../domain/ports/index.ts';
import { consumeWithPositions, type RunningConsumer } from './consume.ts';
import type { ProjectionLogger, ProjectionMetrics } from './projection.ts';
import type { Supervisor } from './supervisor.ts';

/** How often a partition's position is stored while its records need nothing stored beside it. */
export const POSITION_SAVE_MS = 1000;

/** A pino-like logger; `error` is optional (warn stands in). */
export interface SenderLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error?(fields: Record<string, unknown>, message: string): void;
}

export interface ConsumeAsSenderOptions<Handled> {
  /** The consumer's name: its positions, its consumer group `projection.<name>`, /health, lag. */
  readonly name: string;
  readonly topic: string;
  readonly log: RoomLog;
  readonly logger: SenderLogger;
  readonly supervisor?: Supervisor | undefined;
  readonly metrics?: ProjectionMetrics | undefined;
  /** Passed to the log's subscription (SubscribeOptions.latency). */
  readonly latency?: ConsumerLatency | undefined;
  /** The stored next offset of each partition (senderPositions.ts: the log's end when none is). */
  loadPositions(partitions: readonly number[]): Promise<ReadonlyMap<number, number>>;
  onRevoked?(partitions: readonly number[]): void;
  /**
   * Acts on or plans the entries past the stored position (in offset order). Undefined when the
   * sender is stopping part-way: nothing is stored, the batch is handled again after the restart.
   */
  handle(partition: number, entries: readonly LogEntry[]): Promise<Handled | undefined>;
  /** Whether `handled` must be stored with the position now rather than at the next throttled save. */
  mustStore(handled: Handled): boolean;
  /** Stores the partition's next offset, with whatever `handled` needs stored beside it. */
  checkpoint(partition: number, next: number, handled: Handled): Promise<void>;
  /** After the checkpoint, stored or not (e.g. queue in memory what the stored rows stand for). */
  handOn?(handled: Handled): void;
}

export const consumeAsSender = async <Handled>(options: ConsumeAsSenderOptions<Handled>): Promise<RunningConsumer> => {
  const { name, logger } = options;
  const savedAt = new Map<number, number>();
  /** Positions handled but not stored yet (nothing needed storing with them), stored at a clean stop. */
  const unsaved = new Map<number, { readonly next: number; readonly handled: Handled }>();
  const consumer = await consumeWithPositions({
    name,
    topic: options.topic,
    log: options.log,
    latency: options.latency,
    supervisor: options.supervisor,
    contract: null,
    // Bound here: the runtime calls the methods detached.
    logger: {
      info: (fields, message) => logger.info(fields, message),
      warn: (fields, message) => logger.warn(fields, message),
      error: (fields, message) => (logger.error ?? logger.warn).call(logger, fields, message),
    } satisfies ProjectionLogger,
    loadPositions: (partitions) => options.loadPositions(partitions),
    ...(options.onRevoked === undefined ? {} : { onRevoked: options.onRevoked }),
    apply: async (batch, stored) => {
      const fresh = batch.entries.filter((entry) => stored === undefined || entry.offset >= stored);
      if (fresh.length === 0) return undefined;
      const handled = await options.handle(batch.partition, fresh);
      if (handled === undefined) return undefined;
      const next = fresh[fresh.length - 1]!.offset + 1;
      if (options.mustStore(handled) || Date.now() - (savedAt.get(batch.partition) ?? 0) >= POSITION_SAVE_MS) {
        await options.checkpoint(batch.partition, next, handled);
        savedAt.set(batch.partition, Date.now());
        unsaved.delete(batch.partition);
      } else {
        unsaved.set(batch.partition, { next, handled });
      }
      options.handOn?.(handled);
      options.metrics?.onBatch(name, batch.partition, next, batch.highWatermark);
      return next;
    },
  });
  return {
    ...consumer,
    // A clean stop stores where the sender got to, so a restart (or a rebuild's count of what it
    // skips) does not look again at what was handled. Positions never move back (senderPositions),
    // so a partition another member owns by now keeps its own.
    stop: async () => {
      await consumer.stop();
      for (const [partition, { next, handled }] of unsaved) {
        try {
          await options.checkpoint(partition, next, handled);
        } catch (error) {
          logger.warn({ consumer: name, partition, next, err: error }, 'storing a sender position at stop failed; the restart looks at its records again');
        }
      }
      unsaved.clear();
    },
  };
};

/** How long one wait for the rooms projection lasts before it is logged and waited for again. */
export const PROJECTION_WAIT_MS = 30_000;

/**
 * Waits until the rooms projection has applied `partition`/`offset` (a sender reads what it sends
 * from the rooms read model), logging every PROJECTION_WAIT_MS; false once `stopping()` says so.
 */
export const roomsProjectionApplied = async (
  rooms: ProjectionWaiter, partition: number, offset: number,
  waiting: { readonly name: string; readonly logger: SenderLogger; stopping(): boolean },
): Promise<boolean> => {
  for (;;) {
    const started = Date.now();
    if (await rooms.waitFor(partition, offset, PROJECTION_WAIT_MS)) return true;
    if (waiting.stopping()) return false;
    waiting.logger.warn({ partition, offset }, `${waiting.name} still waiting for the rooms projection`);
    // A stopped projection answers at once: do not spin on it.
    if (Date.now() - started < PROJECTION_WAIT_MS) await new Promise((resolve) => setTimeout(resolve, 1000).unref());
  }
};
