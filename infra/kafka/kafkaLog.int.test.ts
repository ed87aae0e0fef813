import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { describeRoomLogContract } from '../../test/contracts/index.ts';
import { createKafkaLog, withNamespace } from './index.ts';

const { kafkaBrokers } = inject('strataTestServices');

/** Deletes the topics the contract tests made (fresh names per test, with or without a namespace). */
const deleteContractTopics = (prefix: string) => async () => {
  const admin = new Kafka({ brokers: kafkaBrokers, clientId: 'strata-contract-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
};

describeRoomLogContract(
  'kafka',
  () => createKafkaLog({ brokers: kafkaBrokers, clientId: 'strata-contract' }),
  deleteContractTopics('strata-contract-'),
);

// The same contract through a namespace: what one homeserver of several on a shared cluster sees.
describeRoomLogContract(
  'kafka in a namespace',
  async () => withNamespace(await createKafkaLog({ brokers: kafkaBrokers, clientId: 'strata-contract-ns' }), 'tenant-a'),
  deleteContractTopics('tenant-a.strata-contract-'),
);

describe('kafka ensureTopic', () => {
  afterAll(deleteContractTopics('strata-ensure-'));

  it('is quiet and keeps the topic when it exists already, even when two processes race', async () => {
    const errors: string[] = [];
    const logger = { error: (_: object, message: string) => errors.push(message), warn: () => {}, info: () => {}, debug: () => {} };
    const [first, second] = await Promise.all([1, 2].map((n) => createKafkaLog({ brokers: kafkaBrokers, clientId: `strata-ensure-${n}`, logger })));
    try {
      const topic = `strata-ensure-${randomUUID()}`;
      await Promise.all([first!.ensureTopic(topic, 3), second!.ensureTopic(topic, 3)]);
      await first!.ensureTopic(topic, 5);
      expect(await second!.partitionCount(topic)).toBe(3);
      expect(errors).toEqual([]);
    } finally {
      await Promise.all([first!.close(), second!.close()]);
    }
  });
});

describe('kafka appends past the broker\'s batch limit', () => {
  afterAll(deleteContractTopics('strata-batch-limit-'));

  const createTopic = async (topic: string, maxMessageBytes?: number) => {
    const admin = new Kafka({ brokers: kafkaBrokers, clientId: 'strata-batch-limit-admin', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, ...(maxMessageBytes === undefined ? {} : { configEntries: [{ name: 'max.message.bytes', value: String(maxMessageBytes) }] }) }],
        waitForLeaders: true,
      });
    } finally {
      await admin.disconnect();
    }
  };

  /** Every entry of the partition, in offset order. */
  const readAll = async (log: Awaited<ReturnType<typeof createKafkaLog>>, topic: string) => {
    const entries = [];
    for (let batch; (batch = await log.read(topic, 0, entries.length, 100)).length > 0;) entries.push(...batch);
    return entries;
  };

  it('carries concurrent appends to one partition totalling several MiB, in order, each caller\'s positions consecutive', async () => {
    const log = await createKafkaLog({ brokers: kafkaBrokers, clientId: 'strata-batch-limit' });
    try {
      const topic = `strata-batch-limit-${randomUUID()}`;
      await createTopic(topic);
      // 24 callers x 2 events near the spec's 64 KiB PDU limit: 3 MiB, over the broker's default
      // 1 MiB batch limit, all waiting for the same request.
      const text = 'x'.repeat(60 << 10);
      const callers = Array.from({ length: 24 }, (_, caller) =>
        log.append(topic, [0, 1].map((n) => ({ key: '!busy:example.org', value: { caller, n, text } }))));
      const positions = await Promise.all(callers);
      for (const [first, second] of positions) {
        expect(first!.partition).toBe(0);
        expect(second).toEqual({ partition: 0, offset: first!.offset + 1 });
      }
      const entries = await readAll(log, topic);
      expect(entries).toHaveLength(48);
      // The log holds them in call order.
      expect(entries.map(({ value }) => value)).toEqual(
        Array.from({ length: 24 }, (_, caller) => [0, 1].map((n) => ({ caller, n, text }))).flat());
    } finally {
      await log.close();
    }
  });

  it('reads the topic\'s own max.message.bytes, and fails alone an append with a record over it', async () => {
    const log = await createKafkaLog({ brokers: kafkaBrokers, clientId: 'strata-batch-limit-small' });
    try {
      const topic = `strata-batch-limit-${randomUUID()}`;
      await createTopic(topic, 100 << 10);
      const text = 'y'.repeat(30 << 10);
      const appends = Array.from({ length: 10 }, (_, n) => log.append(topic, [{ key: '!k:example.org', value: { n, text } }]));
      const tooLarge = log.append(topic, [{ key: '!k:example.org', value: { text: 'z'.repeat(120 << 10) } }]);
      await expect(tooLarge).rejects.toThrow(/exceeds .* batch limit of 102400 bytes \(max\.message\.bytes\)/);
      expect((await Promise.all(appends)).flat()).toEqual(Array.from({ length: 10 }, (_, offset) => ({ partition: 0, offset })));
      expect((await readAll(log, topic)).map(({ value }) => value)).toEqual(Array.from({ length: 10 }, (_, n) => ({ n, text })));
    } finally {
      await log.close();
    }
  });
});
