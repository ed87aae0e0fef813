import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { LogBatch } from '../../domain/ports/index.ts';
import { COMMIT_HINT_INTERVAL_MS, subscribeKafka } from './kafkaSubscription.ts';

const { kafkaBrokers } = inject('strataTestServices');

describe('kafka subscription offsets', () => {
  const kafka = new Kafka({ brokers: kafkaBrokers, clientId: 'strata-subscription-test', logLevel: logLevel.NOTHING });
  const topic = `strata-subscription-${randomUUID()}`;
  const admin = kafka.admin();
  afterAll(async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('commits the handler\'s positions as a periodic hint, not one commit round trip per batch', async () => {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const group = `strata-subscription-${randomUUID()}`;
    const handled: number[] = [];
    let notify: () => void = () => undefined;
    const subscription = await subscribeKafka(kafka, { group, topic }, {
      onAssigned: async (_topic, partitions) => new Map(partitions.map((partition) => [partition, 0])),
      onRevoked: async () => undefined,
      onBatch: async (batch: LogBatch) => {
        handled.push(...batch.entries.map((entry) => entry.offset));
        notify();
      },
    });
    let commits = 0;
    subscription.consumer.on(subscription.consumer.events.REQUEST, (event) => {
      if (event.payload.apiName === 'OffsetCommit') commits += 1;
    });
    const started = Date.now();
    const records = 8;
    // One record at a time, each handled before the next is sent: one batch each.
    for (let i = 0; i < records; i += 1) {
      const seen = new Promise<void>((resolve) => (notify = resolve));
      await producer.send({ topic, messages: [{ key: 'k', value: JSON.stringify({ i }) }] });
      await seen;
    }
    const elapsed = Date.now() - started;
    // The last batch is done once onBatch's answer has been taken in (a turn of the event loop).
    await new Promise((resolve) => setImmediate(resolve));
    await subscription.stop();
    await producer.disconnect();
    expect(handled).toEqual(Array.from({ length: records }, (_, i) => i));
    // At most one hint per interval while running, and the last position on stop.
    expect(commits).toBeLessThanOrEqual(Math.floor(elapsed / COMMIT_HINT_INTERVAL_MS) + 1);
    expect(commits).toBeLessThan(records);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    expect(committed?.partitions).toEqual([expect.objectContaining({ partition: 0, offset: String(records) })]);
  });
  it('serves a `soon` consumer a fetch per wait while appends come one by one, not one per append', async () => {
    const soonTopic = `${topic}-soon`;
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: soonTopic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const handled: number[] = [];
    const subscription = await subscribeKafka(kafka, { group: `strata-subscription-${randomUUID()}`, topic: soonTopic, latency: 'soon' }, {
      onAssigned: async (_topic, partitions) => new Map(partitions.map((partition) => [partition, 0])),
      onRevoked: async () => undefined,
      onBatch: async (batch: LogBatch) => { handled.push(...batch.entries.map((entry) => entry.offset)); },
    });
    try {
      // Wait for the member's first fetch, then count fetches while appending every 5 ms.
      await producer.send({ topic: soonTopic, messages: [{ key: 'k', value: '{}' }] });
      await expect.poll(() => handled.length, { timeout: 30_000 }).toBe(1);
      let fetches = 0;
      subscription.consumer.on(subscription.consumer.events.REQUEST, (event) => {
        if (event.payload.apiName === 'Fetch') fetches += 1;
      });
      const records = 100;
      const started = Date.now();
      for (let i = 1; i <= records; i += 1) {
        await producer.send({ topic: soonTopic, messages: [{ key: 'k', value: JSON.stringify({ i }) }] });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await expect.poll(() => handled.length, { timeout: 10_000 }).toBe(records + 1);
      const elapsed = Date.now() - started;
      expect(handled).toEqual(Array.from({ length: records + 1 }, (_, i) => i));
      // About one fetch per 50 ms wait (plus the fetch in flight at each end), far below one per append.
      expect(fetches).toBeLessThanOrEqual(Math.ceil(elapsed / 50) + 3);
      expect(fetches).toBeLessThan(records / 2);
    } finally {
      await subscription.stop();
      await producer.disconnect();
      await admin.deleteTopics({ topics: [soonTopic] }).catch(() => undefined);
    }
  });
});
