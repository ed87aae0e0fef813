/**
 * Smoke check for the broker started by infra/services/kafka.sh: creates a topic, produces one
 * message inside a transaction (the room writer's path) and reads it back through a consumer group
 * with read_committed isolation. Exits non-zero with one line on failure.
 *   sh infra/node/run.sh infra/services/kafkaSmoke.ts [broker]
 */
import { Kafka, logLevel } from 'kafkajs';

const broker = process.argv[2] ?? process.env.STRATA_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092';
const kafka = new Kafka({ clientId: 'strata-smoke', brokers: broker.split(','), logLevel: logLevel.NOTHING });
const topic = `strata-smoke-${Date.now()}`;
const body = `hello ${topic}`;

const main = async (): Promise<void> => {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 1, replicationFactor: 1 }], waitForLeaders: true });

  const producer = kafka.producer({ transactionalId: `${topic}-txn`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const txn = await producer.transaction();
  await txn.send({ topic, messages: [{ key: 'k', value: body }] });
  await txn.commit();
  await producer.disconnect();

  const consumer = kafka.consumer({ groupId: `${topic}-group`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const received = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message within 30 s')), 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        clearTimeout(timer);
        resolve(message.value?.toString() ?? '');
      },
    });
  });
  await consumer.disconnect();
  await admin.deleteTopics({ topics: [topic] });
  await admin.disconnect();
  if (received !== body) throw new Error(`read back ${JSON.stringify(received)}, wrote ${JSON.stringify(body)}`);
  console.log(`kafka smoke: produced (transactional) and consumed one message via ${broker}`);
};

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`kafka smoke: FAILED against ${broker}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
