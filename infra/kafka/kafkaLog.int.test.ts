import { Kafka, logLevel } from 'kafkajs';
import { inject } from 'vitest';
import { describeRoomLogContract } from '../logContract/roomLogContract.ts';
import { createKafkaLog } from './index.ts';

const { kafkaBrokers } = inject('strataTestServices');

// Each contract test uses fresh topics and groups; they are deleted after the suite.
describeRoomLogContract(
  'kafka',
  () => createKafkaLog({ brokers: kafkaBrokers, clientId: 'strata-contract' }),
  async () => {
    const admin = new Kafka({ brokers: kafkaBrokers, clientId: 'strata-contract-cleanup', logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((topic) => topic.startsWith('strata-contract-'));
      if (topics.length > 0) await admin.deleteTopics({ topics });
    } finally {
      await admin.disconnect();
    }
  },
);
