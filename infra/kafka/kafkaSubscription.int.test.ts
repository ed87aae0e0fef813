import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ConsumerHandlers, ConsumerLatency, LogBatch } from '../../domain/ports/index.ts';
import { COMMIT_HINT_INTERVAL_MS, subscribeKafka } from './kafkaSubscription.ts';
import { createLogFeeds, type LogFeeds } from './logFeeds.ts';

const { kafkaBrokers } = inject('strataTestServices');

/** Handlers starting every partition at `from`, recording the offsets handed over. */
const recording = (handled: number[], from = 0, onBatch?: (batch: LogBatch) => Promise<void>): ConsumerHandlers => ({
  onAssigned: async (_topic, partitions) => new Map(partitions.map((partition) => [partition, from])),
  onRevoked: async () => undefined,
  onBatch: async (batch) => {
    await onBatch?.(batch);
    handled.push(...batch.entries.map((entry) => entry.offset));
  },
});

const upTo = (count: number, from = 0): number[] => Array.from({ length: count - from }, (_, i) => from + i);

describe('kafka subscriptions on shared feeds', () => {
  const kafka = new Kafka({ brokers: kafkaBrokers, clientId: 'strata-subscription-test', logLevel: logLevel.NOTHING });
  const admin: Admin = kafka.admin();
  const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
  let feeds: LogFeeds;
  const topics: string[] = [];

  const newTopic = async (partitions = 1): Promise<string> => {
    const topic = `strata-subscription-${randomUUID()}`;
    topics.push(topic);
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
    return topic;
  };
  const subscribe = (topic: string, handlers: ConsumerHandlers, latency?: ConsumerLatency) =>
    subscribeKafka(kafka, feeds, { group: `strata-subscription-${randomUUID()}`, topic, ...(latency === undefined ? {} : { latency }) }, handlers);
  const append = (topic: string, count: number) =>
    producer.send({ topic, messages: Array.from({ length: count }, (_, i) => ({ key: `k${i % 7}`, value: JSON.stringify({ i }) })) });

  beforeAll(async () => {
    await admin.connect();
    await producer.connect();
    feeds = createLogFeeds(kafka, async (topic, partition) => {
      const found = (await admin.fetchTopicOffsets(topic)).find((o) => o.partition === partition);
      return { low: Number(found?.low ?? 0), high: Number(found?.high ?? 0) };
    });
  });
  afterAll(async () => {
    await feeds.close();
    await producer.disconnect();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  it('commits the handler\'s positions as a periodic hint, not one commit round trip per batch', async () => {
    const topic = await newTopic();
    const handled: number[] = [];
    let notify: () => void = () => undefined;
    const group = `strata-subscription-${randomUUID()}`;
    const subscription = await subscribeKafka(kafka, feeds, { group, topic }, recording(handled, 0, async () => notify()));
    let commits = 0;
    subscription.consumer.on(subscription.consumer.events.REQUEST, (event) => {
      if (event.payload.apiName === 'OffsetCommit') commits += 1;
      if (event.payload.apiName === 'Fetch') throw new Error('the member fetched for itself');
    });
    const started = Date.now();
    const records = 8;
    // One record at a time, each handled before the next is sent: one batch each.
    for (let i = 0; i < records; i += 1) {
      const seen = new Promise<void>((resolve) => (notify = resolve));
      await append(topic, 1);
      await seen;
    }
    const elapsed = Date.now() - started;
    // The last batch is done once onBatch's answer has been taken in (a turn of the event loop).
    await new Promise((resolve) => setImmediate(resolve));
    await subscription.stop();
    expect(handled).toEqual(upTo(records));
    // At most one hint per interval while running, and the last position on stop.
    expect(commits).toBeLessThanOrEqual(Math.floor(elapsed / COMMIT_HINT_INTERVAL_MS) + 1);
    expect(commits).toBeLessThan(records);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    expect(committed?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: String(records) })]);
  });

  it('serves two `soon` groups one fetch per wait between them while appends come one by one', async () => {
    const topic = await newTopic();
    const first: number[] = [];
    const second: number[] = [];
    const subscriptions = [await subscribe(topic, recording(first), 'soon'), await subscribe(topic, recording(second), 'soon')];
    try {
      await append(topic, 1);
      await expect.poll(() => first.length + second.length, { timeout: 30_000 }).toBe(2);
      const before = feeds.fetches();
      const records = 100;
      const started = Date.now();
      for (let i = 1; i <= records; i += 1) {
        await append(topic, 1);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await expect.poll(() => first.length + second.length, { timeout: 10_000 }).toBe(2 * (records + 1));
      const elapsed = Date.now() - started;
      const after = feeds.fetches();
      expect(first).toEqual(upTo(records + 1));
      expect(second).toEqual(upTo(records + 1));
      // About one fetch per 50 ms wait for both groups together (plus the fetch in flight at each
      // end), far below one per append or one per group; neither group had to read alone.
      expect(after.shared - before.shared).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 3);
      expect(after.shared - before.shared).toBeLessThan(records / 2);
      expect(after.alone).toBe(before.alone);
    } finally {
      await Promise.all(subscriptions.map((subscription) => subscription.stop()));
    }
  });

  it('hands a group starting far behind everything from its position while another group stays live', async () => {
    const topic = await newTopic(2);
    await append(topic, 300);
    /** Offsets handed over, per partition. */
    const byPartition = (): { seen: Map<number, number[]>; handlers: ConsumerHandlers } => {
      const seen = new Map<number, number[]>([[0, []], [1, []]]);
      return { seen, handlers: recording([], 0, async (batch) => { seen.get(batch.partition)?.push(...batch.entries.map((e) => e.offset)); }) };
    };
    const total = (seen: Map<number, number[]>): number => [...seen.values()].reduce((sum, offsets) => sum + offsets.length, 0);
    const live = byPartition();
    const liveSubscription = await subscribe(topic, live.handlers, 'background');
    await expect.poll(() => total(live.seen), { timeout: 30_000 }).toBe(300);
    // A rebuild: a second group starts at 0 while records keep coming.
    const rebuilt = byPartition();
    const rebuilding = await subscribe(topic, rebuilt.handlers, 'background');
    try {
      await append(topic, 200);
      await expect.poll(() => [total(live.seen), total(rebuilt.seen)], { timeout: 30_000 }).toEqual([500, 500]);
      // Every record exactly once per group, each partition in order.
      const ends = await admin.fetchTopicOffsets(topic);
      for (const { partition, high } of ends) {
        expect(live.seen.get(partition)).toEqual(upTo(Number(high)));
        expect(rebuilt.seen.get(partition)).toEqual(upTo(Number(high)));
      }
    } finally {
      await Promise.all([liveSubscription.stop(), rebuilding.stop()]);
    }
  });

  it('lets a slow group fall behind and catch up alone without holding back a fast one', async () => {
    const topic = await newTopic();
    const fast: number[] = [];
    const slow: number[] = [];
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    const subscriptions = [
      await subscribe(topic, recording(fast), 'prompt'),
      await subscribe(topic, recording(slow, 0, () => released), 'prompt'),
    ];
    try {
      // More than a lane may queue: the slow group's queue is let go and it reads alone later.
      for (let i = 0; i < 7; i += 1) await append(topic, 1_000);
      await expect.poll(() => fast.length, { timeout: 30_000 }).toBe(7_000);
      expect(slow).toEqual([]);
      const before = feeds.fetches();
      release();
      await expect.poll(() => slow.length, { timeout: 30_000 }).toBe(7_000);
      expect(fast).toEqual(upTo(7_000));
      expect(slow).toEqual(upTo(7_000));
      // It let its queue go: the rest came from its own reads.
      expect(feeds.fetches().alone).toBeGreaterThan(before.alone);
    } finally {
      release();
      await Promise.all(subscriptions.map((subscription) => subscription.stop()));
    }
  });
});
