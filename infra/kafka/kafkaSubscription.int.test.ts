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
});
