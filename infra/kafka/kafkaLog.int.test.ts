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
