/**
 * A consumer-group member on Kafka (kafkajs, classic eager rebalancing).
 *
 * Positions belong to the handler, not to Kafka: on every group join kafkajs restarts each
 * assigned partition from the committed offset, so after each GROUP_JOIN this member works out
 * what was revoked and what is new (onRevoked, then onAssigned) and seeks every assigned partition
 * to the handler's position (onAssigned's answer, or the next offset after the last batch for a
 * partition it kept). Batches wait for that step; a batch fetched before the seek took effect is
 * stale and dropped unresolved, so nothing is processed out of place. Offsets are resolved only
 * after onBatch resolves and committed to Kafka every few seconds as a hint for tools (kafkajs's
 * auto-commit would send a commit round trip after every batch, and hold the partition's next
 * batch until it is answered). Eager rebalancing means a
 * member finishes its in-flight batches before it rejoins, so no partition is consumed twice at
 * once. A handler error stops the member without retrying the batch and rejects `done`, and so
 * does any crash of kafkajs's consumer, retriable or not: kafkajs would rejoin by itself as a new
 * member, silently, while the crashed member (whose LeaveGroup could not reach a restarting
 * broker) holds the group's rebalance for a whole session timeout. Ending the subscription lets
 * its owner's supervisor report the outage and subscribe again, and the log evict the dead member
 * before that join (GroupMembership.onLeft, groupEviction.ts).
 */
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { ConsumerHandlers, LogEntry, SubscribeOptions, Subscription } from '../../domain/ports/index.ts';
import { toLogEntry } from './records.ts';

const DEFAULT_MAX_BATCH = 500;

export interface KafkaConsumerTuning {
  /** How long an idle fetch waits on the broker; bounds how fast a rebalance is noticed. */
  readonly maxWaitTimeInMs?: number;
  readonly sessionTimeout?: number;
  readonly heartbeatInterval?: number;
  /** Partitions whose batches are handled at the same time (each partition stays in order). */
  readonly partitionsConsumedConcurrently?: number;
}

/**
 * Like the embedded log's one worker per partition: a partition's batch (a read-model transaction)
 * does not hold back the batches other partitions fetched in the same response.
 */
const DEFAULT_PARTITIONS_CONCURRENTLY = 8;

/**
 * A consumer that may take records late (SubscribeOptions.latency) has its fetch wait on the broker
 * until this much piled up or its wait ends: a few fetches a second instead of one per produce
 * request (each fetch costs a request, a response to decode and a batch to handle).
 */
const LATE_MIN_BYTES = 256 * 1024;
/** A `soon` consumer's longest wait for records on the broker. */
const SOON_MAX_WAIT_MS = 50;
/**
 * A background consumer catching up takes more per fetch than kafkajs's 1 MiB a partition: a
 * ClickHouse projection pays per INSERT, and its batches are what one fetch brought.
 */
const BACKGROUND_MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;
const BACKGROUND_MAX_BYTES = 32 * 1024 * 1024;

/** How often the handler's positions are committed to Kafka (a hint for tools; never read back here). */
export const COMMIT_HINT_INTERVAL_MS = 5_000;

/** Hooks of the log around group membership (kafkaLog.ts: a lease holder evicts dead members). */
export interface GroupMembership {
  /** Runs before this member first joins `group`. */
  beforeJoin(group: string): Promise<void>;
  /** Learns this member's id on each join. */
  onJoined(memberId: string): void;
  /** This member has stopped: if its LeaveGroup did not reach the broker, it is a dead member now. */
  onLeft(memberId: string): void;
}

export const subscribeKafka = async (
  kafka: Kafka,
  options: SubscribeOptions,
  handlers: ConsumerHandlers,
  tuning: KafkaConsumerTuning = {},
  membership?: GroupMembership,
): Promise<Subscription & { readonly consumer: Consumer }> => {
  const { topic } = options;
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new RangeError(`invalid maxBatchSize ${maxBatchSize}`);
  const latency = options.latency ?? 'prompt';
  const consumer = kafka.consumer({
    groupId: options.group,
    allowAutoTopicCreation: false,
    ...(latency === 'prompt' ? {} : { minBytes: LATE_MIN_BYTES }),
    ...(latency === 'background' ? { maxBytesPerPartition: BACKGROUND_MAX_BYTES_PER_PARTITION, maxBytes: BACKGROUND_MAX_BYTES } : {}),
    maxWaitTimeInMs: latency === 'soon' ? Math.min(SOON_MAX_WAIT_MS, tuning.maxWaitTimeInMs ?? SOON_MAX_WAIT_MS) : tuning.maxWaitTimeInMs ?? 500,
    sessionTimeout: tuning.sessionTimeout ?? 30_000,
    heartbeatInterval: tuning.heartbeatInterval ?? 3_000,
    // Every crash ends this subscription (see above): kafkajs must not restart the member itself.
    retry: { restartOnFailure: async () => false },
  });

  /** Next offset to hand to onBatch, per assigned partition. */
  const positions = new Map<number, number>();
  let assigned: number[] = [];
  /** This member's id in the group, once joined (kept across rejoins unless the broker forgot it). */
  let memberId: string | undefined;
  let ready: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  let stopping: Promise<void> | undefined;
  let settle: (error?: unknown) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    settle = (error) => (error === undefined ? resolve() : reject(error));
  });
  done.catch(() => undefined);

  const applyAssignment = async (current: number[]): Promise<void> => {
    const revoked = assigned.filter((p) => !current.includes(p));
    const added = current.filter((p) => !assigned.includes(p));
    if (revoked.length > 0) {
      for (const partition of revoked) positions.delete(partition);
      assigned = assigned.filter((p) => current.includes(p));
      await handlers.onRevoked(topic, revoked);
    }
    if (added.length > 0) {
      const offsets = await handlers.onAssigned(topic, added);
      for (const partition of added) {
        const offset = offsets.get(partition) ?? 0;
        if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`onAssigned gave partition ${partition} offset ${offset}`);
        positions.set(partition, offset);
      }
    }
    assigned = current;
    for (const partition of current) consumer.seek({ topic, partition, offset: String(positions.get(partition) ?? 0) });
  };

  /** Positions as last committed, so an idle member sends no commits. */
  const hinted = new Map<number, number>();
  const commitHints = async (): Promise<void> => {
    const changed = assigned.flatMap((partition) => {
      const next = positions.get(partition);
      return next === undefined || hinted.get(partition) === next ? [] : [{ partition, next }];
    });
    if (changed.length === 0) return;
    try {
      await consumer.commitOffsets(changed.map(({ partition, next }) => ({ topic, partition, offset: String(next) })));
      for (const { partition, next } of changed) hinted.set(partition, next);
    } catch {
      // A hint: a rebalance or a broker hiccup only delays it to the next round.
    }
  };
  const hints = setInterval(() => void commitHints(), COMMIT_HINT_INTERVAL_MS);
  hints.unref();

  const shutdown = (error?: unknown): Promise<void> => {
    stopping ??= (async () => {
      if (error !== undefined) failure ??= { error };
      clearInterval(hints);
      if (failure === undefined) await commitHints();
      await consumer.stop().catch(() => undefined);
      await ready.catch(() => undefined);
      if (failure === undefined && assigned.length > 0) {
        await handlers.onRevoked(topic, assigned).catch((revokeError: unknown) => (failure = { error: revokeError }));
      }
      assigned = [];
      await consumer.disconnect().catch(() => undefined);
      if (memberId !== undefined) membership?.onLeft(memberId);
      settle(failure?.error);
    })();
    return stopping;
  };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> => {
    try {
      await ready;
    } catch (error) {
      void shutdown(error);
      return;
    }
    if (failure !== undefined || !isRunning() || isStale()) return;
    const partition = batch.partition;
    const from = positions.get(partition);
    if (from === undefined) return;
    const highWatermark = Number(batch.highWatermark);
    // After a seek the first batch may start inside a record batch: skip what was handled.
    const entries: LogEntry[] = batch.messages
      .filter((message) => Number(message.offset) >= from)
      .map((message) => toLogEntry(topic, partition, message));
    if (entries.length === 0 && batch.messages.length > 0) {
      // Fetched behind our position (a seek that did not hold): go back to where we are.
      consumer.seek({ topic, partition, offset: String(from) });
      return;
    }
    for (let start = 0; start < entries.length; start += maxBatchSize) {
      if (!isRunning() || isStale() || failure !== undefined) return;
      const chunk = entries.slice(start, start + maxBatchSize);
      try {
        await handlers.onBatch({ topic, partition, entries: chunk, highWatermark });
      } catch (error) {
        // Not rethrown: kafkajs would retry the batch. The subscription ends instead.
        void shutdown(error);
        return;
      }
      const last = chunk[chunk.length - 1].offset;
      positions.set(partition, last + 1);
      resolveOffset(String(last));
      await heartbeat();
    }
    // Trailing control records (transaction markers) need resolving too, or the position sticks.
    if (failure === undefined && entries.length > 0 && Number(batch.lastOffset()) >= (positions.get(partition) ?? 0)) {
      positions.set(partition, Number(batch.lastOffset()) + 1);
      resolveOffset(batch.lastOffset());
    }
  };

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    if (memberId !== undefined && memberId !== event.payload.memberId) membership?.onLeft(memberId);
    memberId = event.payload.memberId;
    membership?.onJoined(memberId);
    const current = [...(event.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
    ready = ready.then(() => applyAssignment(current));
    ready.catch((error: unknown) => void shutdown(error));
  });
  consumer.on(consumer.events.CRASH, (event) => void shutdown(event.payload.error));

  try {
    await membership?.beforeJoin(options.group);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatchAutoResolve: false, autoCommit: false, eachBatch,
      partitionsConsumedConcurrently: tuning.partitionsConsumedConcurrently ?? DEFAULT_PARTITIONS_CONCURRENTLY,
    });
  } catch (error) {
    // Not joined (a broker still down, say): nothing of this member may outlive the attempt.
    await shutdown(error).catch(() => undefined);
    throw error;
  }
  await ready.catch(() => undefined);

  return {
    consumer,
    done,
    async stop() {
      await shutdown();
      await done.catch(() => undefined);
    },
  };
};
