/**
 * The push sender: a consumer of the room log (its own consumer group and positions, see
 * positions.ts) that pushes each accepted event, and each invite to a room this server is not in
 * (`membership.outOfBand`), to the pushers of whoever it notifies (domain/app/pushGateway). The
 * event is read from the rooms read model once the rooms projection has applied it, so membership,
 * push context and unread counts are those of the event's point.
 * Delivery is at-least-once: the position is stored after a batch that pushed something, and
 * otherwise at most every POSITION_SAVE_MS (consumeAsSender), so a restart may look at up to that much again.
 * Events are skipped at once while no user of this server has an http pusher (pusherUsers.ts).
 */
import { outOfBandEvent, pushEvent, pushOutOfBandInvite, type PushSenderContext } from '../../domain/app/pushGateway/index.ts';
import { isRoomRecord, type LogEntry, type ProjectionWaiter, type RoomLog, type SqlDatabase } from '../../domain/index.ts';
import {
  consumeAsSender, roomsProjectionApplied, type ProjectionMetrics, type RunningConsumer, type SenderLogger, type Supervisor,
} from '../../projections/runtime/index.ts';
import type { PusherUsers } from './pusherUsers.ts';
import { ensurePushPositions, loadPushPositions, PUSH_SENDER_NAME, savePushPosition } from './positions.ts';

export type PushSenderLogger = SenderLogger;

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
  /** Lag per partition (`strata_projection_lag{projection="push_gateway"}`). */
  readonly metrics?: ProjectionMetrics;
}

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
    if (!(await roomsProjectionApplied(options.roomsProjection, entry.partition, entry.offset,
      { name: 'push sender', logger, stopping: () => stopping }))) return 0;
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
  const consumer = await consumeAsSender<number>({
    name: PUSH_SENDER_NAME,
    topic,
    log,
    // Pushes may leave a fraction of a second later; the log then serves this group a few fetches
    // a second instead of one per append.
    latency: 'background',
    supervisor: options.supervisor,
    metrics: options.metrics,
    logger,
    loadPositions: (partitions) => loadPushPositions(db, log, topic, partitions),
    handle: async (_partition, entries) => {
      let pushed = 0;
      for (const entry of entries) {
        pushed += await pushEntry(entry);
        // Stopping: an entry may have been skipped; the batch is looked at again after the restart.
        if (stopping) return undefined;
      }
      return pushed;
    },
    // After a push the position is stored at once, so a restart pushes as little again as it can.
    mustStore: (pushed) => pushed > 0,
    checkpoint: (partition, next) => savePushPosition(db, topic, partition, next),
  });
  return {
    ...consumer,
    stop: async () => {
      stopping = true;
      await consumer.stop();
    },
  };
};
