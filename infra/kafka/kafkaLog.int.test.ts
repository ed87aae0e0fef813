import { Kafka, logLevel } from 'kafkajs';
import { inject } from 'vitest';
import { describeRoomLogContract } from '../logContract/roomLogContract.ts';
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
