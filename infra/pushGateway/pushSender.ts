/**
 * The push sender: a consumer of the room log (its own consumer group and positions, see
 * positions.ts) that pushes each accepted event, and each invite to a room this server is not in
 * (`membership.outOfBand`), to the pushers of whoever it notifies (domain/app/pushGateway). The event is read from the rooms read model once the rooms projection
 * has applied it, so membership, push context and unread counts are those of the event's point.
 * Delivery is at-least-once: the position is stored after a batch that pushed something, and
 * otherwise at most every POSITION_SAVE_MS, so a restart may look at up to that much again.
 * Events are skipped at once while no user of this server has an http pusher (pusherUsers.ts).
 */
import { outOfBandEvent, pushEvent, pushOutOfBandInvite, type PushSenderContext } from '../../domain/app/pushGateway/index.ts';
import { isRoomRecord, type LogEntry, type ProjectionWaiter, type RoomLog, type SqlDatabase } from '../../domain/index.ts';
import { consumeWithPositions, type RunningConsumer, type Supervisor } from '../../projections/runtime/index.ts';
import type { PusherUsers } from './pusherUsers.ts';
import { ensurePushPositions, loadPushPositions, PUSH_SENDER_NAME, savePushPosition } from './positions.ts';

export interface PushSenderLogger {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error?(fields: Record<string, unknown>, message: string): void;
}

export interface StartPushSenderOptions {
  readonly topic: string;
  readonly log: RoomLog;
  readonly db: SqlDatabase;
  /** The rooms projection: an entry is pushed once it has applied it. */
  readonly roomsProjection: ProjectionWaiter;
  readonly context: PushSenderContext;
  /** Who has pushers; its `tracking` store must be the one pushers are changed through. */
  readonly pusherUsers: PusherUsers;
  readonly logger: PushSenderLogger;
  /** Retries transient failures and reports a stop; default: one of its own. */
  readonly supervisor?: Supervisor;
}

/** How often a partition's position is stored while its events push nothing. */
const POSITION_SAVE_MS = 1000;

/** How long one wait for the rooms projection lasts before it is logged and waited for again. */
const PROJECTION_WAIT_MS = 30_000;

export const startPushSender = async (options: StartPushSenderOptions): Promise<RunningConsumer> => {
  const { topic, log, db, logger } = options;
  await ensurePushPositions(db);
  let stopping = false;

  /** Pushes one entry; resolves with the number of requests sent. */
  const pushEntry = async (entry: LogEntry): Promise<number> => {
    // Asked first: while nobody has a pusher the entry's value is never parsed.
    const withPushers = await options.pusherUsers.current();
    if (withPushers.size === 0) return 0;
    const record = entry.value;
    // Accepted events, and invites to rooms this server is not in (which no accepted event carries).
    if (!isRoomRecord(record) || (record.type !== 'pdu.accepted' && record.type !== 'membership.outOfBand')) return 0;
    for (;;) {
      const started = Date.now();
      if (await options.roomsProjection.waitFor(entry.partition, entry.offset, PROJECTION_WAIT_MS)) break;
      if (stopping) return 0;
      logger.warn({ partition: entry.partition, offset: entry.offset }, 'push sender still waiting for the rooms projection');
      // A stopped projection answers at once: do not spin on it.
      if (Date.now() - started < PROJECTION_WAIT_MS) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    if (record.type === 'membership.outOfBand') {
      try {
        return await pushOutOfBandInvite(options.context, outOfBandEvent(record, entry), record.strippedState, withPushers);
      } catch (error) {
        logger.warn({ event_id: record.eventId, room_id: record.roomId, err: error }, 'pushing an invite failed');
        return 0;
      }
    }
    const event = await options.context.rooms.event(record.eventId);
    if (event === undefined) return 0;
    try {
      return await pushEvent(options.context, event, withPushers);
    } catch (error) {
      // One event's failure (a read model error) must not stop pushes for the whole partition.
      logger.warn({ event_id: record.eventId, room_id: record.roomId, err: error }, 'pushing an event failed');
      return 0;
    }
  };
  const savedAt = new Map<number, number>();

  const consumer = await consumeWithPositions({
    name: PUSH_SENDER_NAME,
    topic,
    log,
    // Pushes may leave a fraction of a second later; the log then serves this group a few fetches
    // a second instead of one per append.
    latency: 'background',
    supervisor: options.supervisor,
    // Pushes only what the rooms projection applied, and that one checks the log contract; checking
    // here too would parse every record's value, which the sender spares itself while nobody has a pusher.
    contract: null,
    logger: {
      info: (fields, message) => logger.info(fields, message),
      warn: (fields, message) => logger.warn(fields, message),
      error: (fields, message) => (logger.error ?? logger.warn).call(logger, fields, message),
    },
    loadPositions: (partitions) => loadPushPositions(db, log, topic, partitions),
    apply: async (batch, stored) => {
      const fresh = batch.entries.filter((entry) => stored === undefined || entry.offset >= stored);
      if (fresh.length === 0) return undefined;
      let pushed = 0;
      for (const entry of fresh) {
        if (stopping) return undefined;
        pushed += await pushEntry(entry);
      }
      const next = fresh[fresh.length - 1]!.offset + 1;
      if (pushed > 0 || Date.now() - (savedAt.get(batch.partition) ?? 0) >= POSITION_SAVE_MS) {
        await savePushPosition(db, topic, batch.partition, next);
        savedAt.set(batch.partition, Date.now());
      }
      return next;
    },
  });
  return {
    ...consumer,
    stop: async () => {
      stopping = true;
      await consumer.stop();
    },
  };
};
