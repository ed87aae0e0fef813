// Room message retention (MSC1763, Synapse's `retention` config) with Kafka and PostgreSQL: the
// purge job deletes a room's messages older than its effective max lifetime from the read model and
// destroys their content keys, keeps its state, and leaves rooms with a longer lifetime alone.
// Time is injected into the purge job.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PURGE_JOBS } from '../../domain/app/retention/index.ts';
import { ROOM_EVENTS_TOPIC, type RoomLog, type SqlDatabase } from '../../domain/index.ts';
import { createErasure, type Erasure } from '../../infra/erasure/index.ts';
import { createKafkaLog, withNamespace } from '../../infra/kafka/index.ts';
import { createPostgresDatabase } from '../../infra/postgres/index.ts';
import { MatrixClient, e, startTestServer, type TestServer, type UserClient } from '../harness/index.ts';
import { createRunDatabase, deleteKafkaNamespace, runServices, type RunDatabase } from '../harness/services.ts';

const DAY = 86_400_000;
const suffix = randomBytes(4).toString('hex');

describe('room retention policies (Kafka + PostgreSQL)', () => {
  const services = runServices();
  const namespace = `retention-${suffix}`;
  let database: RunDatabase;
  let server: TestServer;
  let db: SqlDatabase;
  let kafka: RoomLog;
  let erasure: Erasure;
  let alice: UserClient;
  let now = Date.now();

  beforeAll(async () => {
    database = await createRunDatabase(services.postgresUrl, `strata_retention_${suffix}`);
    // The harness's distributed mode would make a database and namespace the test cannot name:
    // these variables turn its embedded mode into Kafka + PostgreSQL on ones the test owns.
    server = await startTestServer({
      mode: 'embedded',
      config: { STRATA_KAFKA_BROKERS: services.kafkaBrokers.join(','), STRATA_KAFKA_NAMESPACE: namespace, STRATA_POSTGRES_URL: database.url },
    });
    const client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
    db = await createPostgresDatabase({ url: database.url, max: 2 });
    kafka = withNamespace(await createKafkaLog({ brokers: [...services.kafkaBrokers], clientId: `retention-test-${suffix}` }), namespace);
    erasure = await createErasure({
      db, topic: ROOM_EVENTS_TOPIC, redactionRetentionMs: null, now: () => now, logger: pino({ level: 'silent' }),
      // Rooms without a policy keep messages 30 days; no room may ask for less than a day.
      retention: { defaultPolicy: { minLifetimeMs: null, maxLifetimeMs: 30 * DAY }, allowedLifetimeMinMs: DAY, allowedLifetimeMaxMs: null, purgeJobs: DEFAULT_PURGE_JOBS },
    });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await db?.close();
    await kafka?.close();
    await database?.drop();
    await deleteKafkaNamespace(services.kafkaBrokers, namespace);
  });

  const bodiesIn = async (roomId: string): Promise<string[]> => {
    const { rows } = await db.query<{ body: string | null }>(
      "SELECT pdu->'content'->>'body' AS body FROM room_events WHERE room_id = $1 AND type = 'm.room.message' ORDER BY log_offset", [roomId]);
    return rows.map((row) => row.body ?? '');
  };
  const bodiesInLog = async (roomId: string): Promise<string[]> => {
    const log = erasure.seal(kafka);
    const partition = await log.partitionFor(ROOM_EVENTS_TOPIC, roomId);
    const entries = await log.read(ROOM_EVENTS_TOPIC, partition, 0, 1000);
    return entries.filter((entry) => entry.key === roomId).flatMap((entry) => {
      const pdu = (entry.value as { pdu?: { type?: string; content?: { body?: string } } }).pdu;
      return pdu?.type === 'm.room.message' ? [pdu.content?.body ?? ''] : [];
    });
  };

  it("purges messages past the room's max lifetime, from the read model and the log, and keeps state", async () => {
    const daily = await alice.createRoom({ name: 'daily' });
    await alice.put(`/rooms/${e(daily)}/state/m.room.retention`, { max_lifetime: DAY });
    // Asks for an hour: clamped to the allowed minimum, a day.
    const hourly = await alice.createRoom({ name: 'hourly' });
    await alice.put(`/rooms/${e(hourly)}/state/m.room.retention`, { max_lifetime: 3_600_000 });
    const monthly = await alice.createRoom({ name: 'monthly' });
    for (const room of [daily, hourly, monthly]) {
      await alice.send(room, `old in ${room}`);
      await alice.send(room, `older still in ${room}`);
      // The newest event is never purged: make it state.
      await alice.put(`/rooms/${e(room)}/state/m.room.topic`, { topic: 'after the messages' });
    }

    // Within every lifetime: nothing goes.
    now += DAY / 2;
    expect(await erasure.runPurgeJob(DEFAULT_PURGE_JOBS[0]!)).toBe(0);
    expect(await bodiesIn(daily)).toHaveLength(2);

    now += DAY;
    expect(await erasure.runPurgeJob(DEFAULT_PURGE_JOBS[0]!)).toBe(4);
    for (const room of [daily, hourly]) {
      expect(await bodiesIn(room)).toEqual([]);
      // The log keeps the events' redacted skeletons only.
      expect(await bodiesInLog(room)).toEqual(['', '']);
      // State is kept: name, topic, the policy itself.
      expect(await alice.get(`/rooms/${e(room)}/state/m.room.name`)).toEqual({ name: room === daily ? 'daily' : 'hourly' });
      expect(await alice.get(`/rooms/${e(room)}/state/m.room.topic`)).toEqual({ topic: 'after the messages' });
      const messages = await alice.get(`/rooms/${e(room)}/messages`, { dir: 'b', limit: 50 });
      expect((messages.chunk as { type: string }[]).filter((event) => event.type === 'm.room.message')).toEqual([]);
    }
    expect(await bodiesIn(monthly)).toEqual([`old in ${monthly}`, `older still in ${monthly}`]);
    expect(await bodiesInLog(monthly)).toEqual([`old in ${monthly}`, `older still in ${monthly}`]);

    now += 30 * DAY;
    expect(await erasure.runPurgeJob(DEFAULT_PURGE_JOBS[0]!)).toBe(2);
    expect(await bodiesIn(monthly)).toEqual([]);
  });
});
