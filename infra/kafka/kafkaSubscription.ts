/**
 * A consumer-group member on Kafka (kafkajs, classic eager rebalancing).
 *
 * The kafkajs consumer is kept for membership only: it joins the group, heartbeats, learns its
 * assignment and carries commit hints, with its topic paused so it never fetches. Records come
 * from the process's shared feed for the topic and latency class (logFeeds.ts), one lane per
 * assigned partition, each handing onBatch one batch at a time.
 *
 * Positions belong to the handler, not to Kafka: after each GROUP_JOIN this member works out what
 * was revoked and what is new (onRevoked once the revoked lanes' batches in flight are done, then
 * onAssigned) and starts each new lane at the handler's position; a partition it keeps goes on
 * where it was. From a rebalance's start to the new assignment no lane starts a batch; a batch
 * already running may still finish after the member rejoined (kafkajs rejoins without waiting for
 * it), which is safe because every projection commits its rows with a compare-and-set of its
 * position (projections/runtime/positions.ts), and today one process holds a namespace's groups
 * (the writer lease). Positions
 * are committed to Kafka every few seconds as a hint for tools (a commit round trip after every
 * batch would hold the partition's next batch until answered). A handler error stops the member
 * without retrying the batch and rejects `done`, and so does any crash of kafkajs's consumer,
 * retriable or not: kafkajs would rejoin by itself as a new member, silently, while the crashed
 * member (whose LeaveGroup could not reach a restarting broker) holds the group's rebalance for a
 * whole session timeout. Ending the subscription lets its owner's supervisor report the outage and
 * subscribe again, and the log evict the dead member before that join (GroupMembership.onLeft,
 * groupEviction.ts).
 */
import type { Consumer, Kafka } from 'kafkajs';
import type { ConsumerHandlers, SubscribeOptions, Subscription } from '../../domain/ports/index.ts';
import type { LogFeeds } from './logFeeds.ts';

const DEFAULT_MAX_BATCH = 500;

export interface KafkaConsumerTuning {
  /** How long an idle fetch waits on the broker, and how often a member's loop looks at its group. */
  readonly maxWaitTimeInMs?: number;
  readonly sessionTimeout?: number;
  readonly heartbeatInterval?: number;
}

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
  feeds: LogFeeds,
  options: SubscribeOptions,
  handlers: ConsumerHandlers,
  tuning: KafkaConsumerTuning = {},
  membership?: GroupMembership,
): Promise<Subscription & { readonly consumer: Consumer }> => {
  const { topic } = options;
  const maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) throw new RangeError(`invalid maxBatchSize ${maxBatchSize}`);
  const consumer = kafka.consumer({
    groupId: options.group,
    allowAutoTopicCreation: false,
    // The paused member's loop sleeps this long between looks at its group (heartbeats keep their interval).
    maxWaitTimeInMs: tuning.maxWaitTimeInMs ?? 500,
    sessionTimeout: tuning.sessionTimeout ?? 30_000,
    heartbeatInterval: tuning.heartbeatInterval ?? 3_000,
    // Every crash ends this subscription (see above): kafkajs must not restart the member itself.
    retry: { restartOnFailure: async () => false },
  });

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

  const reader = feeds.join({
    group: options.group, topic, latency: options.latency ?? 'prompt', maxBatchSize,
    onBatch: (batch) => handlers.onBatch(batch),
    // Not retried: the subscription ends and its owner's supervisor subscribes again.
    onError: (error) => void shutdown(error),
  });

  const applyAssignment = async (current: number[]): Promise<void> => {
    const revoked = assigned.filter((p) => !current.includes(p));
    const added = current.filter((p) => !assigned.includes(p));
    if (revoked.length > 0) {
      await reader.revoke(revoked);
      assigned = assigned.filter((p) => current.includes(p));
      await handlers.onRevoked(topic, revoked);
    }
    if (added.length > 0) {
      const offsets = await handlers.onAssigned(topic, added);
      for (const partition of added) {
        const offset = offsets.get(partition) ?? 0;
        if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`onAssigned gave partition ${partition} offset ${offset}`);
        if (failure === undefined && stopping === undefined) reader.assign(partition, offset);
      }
    }
    assigned = current;
    reader.resume();
  };

  /** Positions as last committed, so an idle member sends no commits. */
  const hinted = new Map<number, number>();
  const commitHints = async (positions = reader.positions()): Promise<void> => {
    const changed = [...positions].filter(([partition, next]) => hinted.get(partition) !== next);
    if (changed.length === 0) return;
    try {
      await consumer.commitOffsets(changed.map(([partition, next]) => ({ topic, partition, offset: String(next) })));
      for (const [partition, next] of changed) hinted.set(partition, next);
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
      await ready.catch(() => undefined);
      const held = assigned;
      assigned = [];
      const positions = await reader.revoke(held);
      if (failure === undefined) await commitHints(positions);
      await consumer.stop().catch(() => undefined);
      if (failure === undefined && held.length > 0) {
        await handlers.onRevoked(topic, held).catch((revokeError: unknown) => (failure = { error: revokeError }));
      }
      await consumer.disconnect().catch(() => undefined);
      if (memberId !== undefined) membership?.onLeft(memberId);
      settle(failure?.error);
    })();
    return stopping;
  };

  // A rebalance under way: no batch starts until the new assignment is applied.
  consumer.on(consumer.events.REBALANCING, () => reader.hold());
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    // Before the member's first fetch: records come from the feed (pausing the whole topic covers later assignments).
    consumer.pause([{ topic }]);
    if (memberId !== undefined && memberId !== event.payload.memberId) membership?.onLeft(memberId);
    memberId = event.payload.memberId;
    membership?.onJoined(memberId);
    const current = [...(event.payload.memberAssignment[topic] ?? [])].sort((a, b) => a - b);
    reader.hold();
    ready = ready.then(() => applyAssignment(current));
    ready.catch((error: unknown) => void shutdown(error));
  });
  consumer.on(consumer.events.CRASH, (event) => void shutdown(event.payload.error));

  try {
    await membership?.beforeJoin(options.group);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    // Paused from its first join on, the member fetches nothing: this never runs.
    await consumer.run({ eachBatchAutoResolve: false, autoCommit: false, eachBatch: async () => undefined });
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
