/**
 * A poison record stops the one consumer that cannot apply it, loudly, and nothing else: a real
 * server process (Kafka + PostgreSQL + ClickHouse) is sent a `pdu.accepted` record the rooms
 * projection cannot apply (an unknown room version; its place in the room's chain is right, so
 * the log contract passes it) straight into its log. Then /health names the stopped consumer and
 * the record's offset, /metrics says so, requests waiting on the rooms projection (a long-polling
 * /sync, a send's read-your-writes wait) answer 503 at once, and the analytics projection and the
 * push sender keep consuming.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOM_EVENTS_TOPIC, type RoomLog } from '../../domain/index.ts';
import { createClickHouse, type ClickHouse } from '../../infra/clickhouse/index.ts';
import { createKafkaLog, withNamespace } from '../../infra/kafka/index.ts';
import { ANALYTICS_EVENTS_TABLE } from '../../projections/analytics/index.ts';
import { MatrixClient, type UserClient } from '../harness/client.ts';
import { createRunDatabase, deleteKafkaNamespace, runServices, type RunDatabase } from '../harness/services.ts';
import { closedPort, startServer, type RunningServer } from './serverProcess.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const suffix = randomBytes(5).toString('hex');
const namespace = `poison-${suffix}`;
const chDatabase = `strata_poison_${suffix}`;

let dataDir = '';
let database: RunDatabase | undefined;
let server: RunningServer | undefined;
let metricsUrl = '';
let log: RoomLog | undefined;
let clickhouse: ClickHouse | undefined;

interface Health {
  status: number;
  body: { consumers?: Record<string, { state: string; topic?: string; partition?: number; offset?: number; error?: string }> };
}

const health = async (): Promise<Health> => {
  const response = await fetch(`${server!.url}/health`);
  return { status: response.status, body: await response.json() as Health['body'] };
};

beforeAll(async () => {
  const services = runServices();
  dataDir = await mkdtemp(path.join(tmpdir(), 'strata-poison-'));
  database = await createRunDatabase(services.postgresUrl, `strata_poison_${suffix}`);
  const configPath = path.join(dataDir, 'strata.yaml');
  await writeFile(configPath, 'rate_limits:\n  login: false\n  registration: false\n  messages: false\n');
  const metricsPort = await closedPort();
  metricsUrl = `http://127.0.0.1:${metricsPort}`;
  server = await startServer({
    STRATA_SERVER_NAME: 'poison.test',
    STRATA_LISTEN: '127.0.0.1:0',
    STRATA_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
    STRATA_DATA_DIR: dataDir,
    STRATA_CONFIG: configPath,
    STRATA_REGISTRATION: 'open',
    STRATA_LOG_LEVEL: 'info',
    STRATA_KAFKA_BROKERS: services.kafkaBrokers.join(','),
    STRATA_KAFKA_NAMESPACE: namespace,
    STRATA_POSTGRES_URL: database.url,
    STRATA_CLICKHOUSE_URL: services.clickhouseUrl,
    STRATA_CLICKHOUSE_DATABASE: chDatabase,
  });
  log = withNamespace(await createKafkaLog({ brokers: services.kafkaBrokers, clientId: `poison-test-${suffix}` }), namespace);
  clickhouse = await createClickHouse({ url: services.clickhouseUrl, database: chDatabase });
}, 180_000);

afterAll(async () => {
  await server?.stop('SIGTERM');
  await log?.close();
  await clickhouse?.exec(`DROP DATABASE IF EXISTS ${chDatabase}`).catch(() => undefined);
  await clickhouse?.close();
  const services = runServices();
  await deleteKafkaNamespace(services.kafkaBrokers, namespace).catch(() => undefined);
  await database?.drop();
  if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
}, 120_000);

describe('a poison record', () => {
  it('stops only the consumer that cannot apply it, named in /health and /metrics, and waits on it fail fast', async () => {
    const client = new MatrixClient(server!.url);
    const alice: UserClient = client.as(await client.register('alice'));
    const roomId = await alice.createRoom({ name: 'poisoned' });
    const lastEventId = await alice.send(roomId, 'before the poison');
    const first = await alice.sync();
    expect((await health()).status).toBe(200);

    // A /sync long-poll waiting for the room's next event when the rooms projection stops.
    const longPollStarted = Date.now();
    const longPoll = alice.request('GET', '/sync', { query: { since: first.next_batch as string, timeout: 120_000 } })
      .then((reply) => ({ ...reply, answeredAt: Date.now() }));

    const [poison] = await log!.append(ROOM_EVENTS_TOPIC, [{
      key: roomId,
      value: {
        type: 'pdu.accepted', v: 1, roomId, roomVersion: '99', eventId: '$poison', stateDelta: [],
        pdu: { type: 'm.room.message', room_id: roomId, sender: alice.userId, content: { body: 'poison' }, origin_server_ts: Date.now() },
        prevAcceptedEventId: lastEventId, forwardExtremities: ['$poison'], local: null, acceptedAt: Date.now(),
      },
      headers: { type: 'pdu.accepted' },
    }]);

    // The rooms projection retries a failure of unknown kind a few times on the same record, then stops on it.
    let stopped: Health | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
      const sample = await health();
      if (sample.body.consumers?.rooms?.state === 'stopped') {
        stopped = sample;
        break;
      }
      await sleep(200);
    }
    const stoppedAt = Date.now();
    expect(stopped?.status).toBe(503);
    expect(stopped?.body.consumers?.rooms).toMatchObject({
      state: 'stopped', topic: ROOM_EVENTS_TOPIC, partition: poison!.partition, offset: poison!.offset,
      error: expect.stringContaining('unknown room version 99') as unknown,
    });
    expect(stopped?.body.consumers?.analytics?.state).toBe('running');
    expect(stopped?.body.consumers?.push_gateway?.state).toBe('running');
    const stopLine = server!.logs.find((line) => line.level === 'error' && typeof line.msg === 'string' && line.msg.startsWith('consumer rooms stopped'));
    expect(stopLine).toMatchObject({ consumer: 'rooms', topic: ROOM_EVENTS_TOPIC, partition: poison!.partition, offset: poison!.offset });

    const metrics = await (await fetch(`${metricsUrl}/metrics`)).text();
    expect(metrics).toContain(
      `strata_consumer_stopped{consumer="rooms",topic="${ROOM_EVENTS_TOPIC}",partition="${poison!.partition}",offset="${poison!.offset}"} 1`);
    expect(metrics).toContain('strata_consumer_state{consumer="rooms",state="stopped"} 1');
    expect(metrics).toContain('strata_consumer_state{consumer="analytics",state="running"} 1');

    // The long-poll that was waiting ended with the stop, not with its timeout.
    const waited = await longPoll;
    expect(waited.status).toBe(503);
    expect(waited.body.errcode).toBe('M_UNKNOWN');
    expect(waited.answeredAt - longPollStarted).toBeLessThan(60_000);
    expect(waited.answeredAt).toBeLessThan(stoppedAt + 2_000);

    // Requests that would wait on the stopped projection answer at once; a refused send is not appended.
    const endBefore = await log!.endOffset(ROOM_EVENTS_TOPIC, poison!.partition);
    let started = Date.now();
    const send = await alice.request('PUT', `/rooms/${encodeURIComponent(roomId)}/send/m.room.message/after-poison`, {
      json: { msgtype: 'm.text', body: 'after the poison' },
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(send.status).toBe(503);
    expect(send.body.errcode).toBe('M_UNKNOWN');
    expect(send.body.error).toContain(`The rooms consumer stopped at ${ROOM_EVENTS_TOPIC} partition ${poison!.partition} offset ${poison!.offset}`);
    expect(await log!.endOffset(ROOM_EVENTS_TOPIC, poison!.partition)).toBe(endBefore);
    started = Date.now();
    const again = await alice.request('GET', '/sync', { query: { since: first.next_batch as string, timeout: 30_000 } });
    expect(again.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(2_000);

    // The analytics projection applied the record the rooms projection could not, and goes on.
    const rows = await clickhouse!.query<{ c: number }>(
      `SELECT count() AS c FROM ${ANALYTICS_EVENTS_TABLE} FINAL WHERE log_partition = ${poison!.partition} AND log_offset = ${poison!.offset}`);
    for (const deadline = Date.now() + 20_000; Date.now() < deadline && rows[0]?.c !== 1;) {
      await sleep(200);
      rows.splice(0, rows.length, ...await clickhouse!.query<{ c: number }>(
        `SELECT count() AS c FROM ${ANALYTICS_EVENTS_TABLE} FINAL WHERE log_partition = ${poison!.partition} AND log_offset = ${poison!.offset}`));
    }
    expect(rows).toEqual([{ c: 1 }]);
    expect(server!.child.exitCode).toBeNull();
  }, 120_000);
});
