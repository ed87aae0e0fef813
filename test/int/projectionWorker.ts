/**
 * Child process of projectionCrash.int.test.ts: runs the crash projection against real Kafka and
 * PostgreSQL until SIGTERM (graceful stop, exit 0) or SIGKILL (the crash under test). Prints
 * "ready" once it has joined the consumer group. Configuration is one JSON argument.
 */
import { createKafkaLog } from '../../infra/kafka/index.ts';
import { createPostgresDatabase } from '../../infra/postgres/index.ts';
import { startProjection } from '../../projections/runtime/index.ts';
import { crashProjection } from './crashProjection.ts';

export interface WorkerConfig {
  readonly brokers: string[];
  readonly postgresUrl: string;
  readonly topic: string;
  readonly name: string;
  readonly maxBatchSize: number;
}

const config = JSON.parse(process.argv[2] ?? '') as WorkerConfig;
// A short session lets the restarted worker take over soon after its SIGKILLed predecessor, whose
// membership the broker only drops when that session expires (6 s is the broker's minimum).
const log = await createKafkaLog({
  brokers: config.brokers, clientId: `crash-worker-${process.pid}`,
  consumer: { sessionTimeout: 6_000, heartbeatInterval: 1_000 },
});
const db = await createPostgresDatabase({ url: config.postgresUrl, max: 2 });
const running = await startProjection({
  projection: crashProjection(config.name, config.topic), log, db, maxBatchSize: config.maxBatchSize,
});
process.stdout.write('ready\n');

let stopping = false;
process.on('SIGTERM', () => {
  stopping = true;
  void running.stop();
});

try {
  await running.done;
} catch (error) {
  process.stderr.write(`projection failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await log.close();
  await db.close();
}
if (!stopping && process.exitCode === undefined) process.exitCode = 2;
