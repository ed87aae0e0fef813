// Erasure end to end (docs/erasure.md). With Kafka, PostgreSQL and ClickHouse: a user deactivated
// with `erase: true` and a redacted message past `redaction_retention_period` leave no content in
// PostgreSQL, in ClickHouse, in the log read through the port, in the log's raw values, nor in a
// rooms read model rebuilt from offset 0. Time is injected into the redaction sweeper. With the
// embedded log: its files never hold content in clear.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOM_EVENTS_TOPIC, type RoomLog, type SqlDatabase } from '../../domain/index.ts';
import { createClickHouse, type ClickHouse } from '../../infra/clickhouse/index.ts';
import { createErasure, SEALED_HEADER, type Erasure } from '../../infra/erasure/index.ts';
import { createKafkaLog, withNamespace } from '../../infra/kafka/index.ts';
import { createPostgresDatabase } from '../../infra/postgres/index.ts';
import { roomsProjection } from '../../projections/rooms/index.ts';
import { chIdentifier, rebuildProjection } from '../../projections/runtime/index.ts';
import { pino } from 'pino';
import {
  MatrixClient, PASSWORD, e, openTestSchema, startTestServer, type TestSchema, type TestServer, type UserClient,
} from '../harness/index.ts';
import { createRunDatabase, deleteKafkaNamespace, runServices, type RunDatabase } from '../harness/services.ts';

const DAY = 86_400_000;
const suffix = randomBytes(4).toString('hex');
/** Unique strings: found anywhere they should not be, the test names where. */
const ALICE_SECRET = `alice-secret-${suffix}`;
const ALICE_NAME = `Alice Marker ${suffix}`;
const REDACTED_SECRET = `redacted-secret-${suffix}`;
const KEPT_TEXT = `kept-text-${suffix}`;
const ROOM_NAME = `room-name-${suffix}`;

describe('erasure (Kafka + PostgreSQL + ClickHouse)', () => {
  const services = runServices();
  const namespace = `erase-${suffix}`;
  const chDatabase = `strata_erase_${suffix}`;
  let database: RunDatabase;
  let server: TestServer;
  let db: SqlDatabase;
  let kafka: RoomLog;
  let ch: ClickHouse;
  let erasure: Erasure;
  let rebuilt: TestSchema;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  let roomId: string;
  /** The sweeper's clock, moved by the test. */
  let now = Date.now();

  beforeAll(async () => {
    database = await createRunDatabase(services.postgresUrl, `strata_erase_${suffix}`);
    // The harness's distributed mode would make a database and namespace the test cannot name:
    // these variables turn its embedded mode into Kafka + PostgreSQL on ones the test owns.
    server = await startTestServer({
      mode: 'embedded',
      config: {
        STRATA_KAFKA_BROKERS: services.kafkaBrokers.join(','), STRATA_KAFKA_NAMESPACE: namespace, STRATA_POSTGRES_URL: database.url,
        STRATA_CLICKHOUSE_URL: services.clickhouseUrl, STRATA_CLICKHOUSE_DATABASE: chDatabase,
      },
    });
    client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
    db = await createPostgresDatabase({ url: database.url, max: 2 });
    kafka = withNamespace(await createKafkaLog({ brokers: [...services.kafkaBrokers], clientId: `erasure-test-${suffix}` }), namespace);
    ch = await createClickHouse({ url: services.clickhouseUrl, database: chDatabase });
    // The test's own view of the server's keys, with a clock it moves.
    const logger = pino({ level: 'silent' });
    erasure = await createErasure({ db, topic: ROOM_EVENTS_TOPIC, redactionRetentionMs: 7 * DAY, retention: null, now: () => now, logger });
    rebuilt = await openTestSchema('erasure_rebuild', 2);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await db?.close();
    await kafka?.close();
    await ch?.exec(`DROP DATABASE IF EXISTS ${chIdentifier(chDatabase)}`);
    await ch?.close();
    await rebuilt?.drop();
    await database?.drop();
    await deleteKafkaNamespace(services.kafkaBrokers, namespace);
  });

  /** Every room record's value as the port gives it (sealed log: opened; plain log: raw). */
  const logText = async (log: RoomLog): Promise<string> => {
    const values: unknown[] = [];
    const partitions = await log.partitionCount(ROOM_EVENTS_TOPIC);
    for (let partition = 0; partition < partitions; partition++) {
      const end = await log.endOffset(ROOM_EVENTS_TOPIC, partition);
      for (let offset = 0; offset < end;) {
        const entries = await log.read(ROOM_EVENTS_TOPIC, partition, offset, 500);
        if (entries.length === 0) break;
        for (const entry of entries) values.push({ headers: entry.headers, value: entry.value });
        offset = entries[entries.length - 1]!.offset + 1;
      }
    }
    return JSON.stringify(values);
  };
  const tableText = async (target: SqlDatabase, table: string): Promise<string> =>
    JSON.stringify((await target.query(`SELECT * FROM ${table}`)).rows);
  const clickHouseText = async (): Promise<string> => {
    const tables = await ch.query<{ name: string }>('SELECT name FROM system.tables WHERE database = currentDatabase()');
    const rows = await Promise.all(tables.map(({ name }) => ch.query(`SELECT * FROM ${chIdentifier(name)}`)));
    return JSON.stringify(rows);
  };
  const readModelText = async (): Promise<string> =>
    (await Promise.all(['room_events', 'room_current_state', 'room_memberships', 'room_redactions', 'rooms', 'profile_fields', 'users'].map((t) => tableText(db, t)))).join('\n');

  it('seals every event in the log: its raw values hold no content', async () => {
    roomId = await alice.createRoom({ preset: 'public_chat', name: ROOM_NAME });
    await bob.post(`/join/${e(roomId)}`);
    await alice.put(`/profile/${e(alice.userId)}/displayname`, { displayname: ALICE_NAME });
    await alice.send(roomId, ALICE_SECRET);
    await bob.send(roomId, KEPT_TEXT);
    const doomed = await bob.send(roomId, REDACTED_SECRET);
    await bob.put(`/rooms/${e(roomId)}/redact/${e(doomed)}/r1`, { reason: 'oops' });

    const raw = await logText(kafka);
    for (const marker of [ALICE_SECRET, ALICE_NAME, REDACTED_SECRET, KEPT_TEXT, ROOM_NAME]) expect(raw).not.toContain(marker);
    expect(raw).toContain(SEALED_HEADER);
    // Through the port, with the keys, everything reads as sent (the redacted one too, for now).
    const opened = await logText(erasure.seal(kafka));
    for (const marker of [ALICE_SECRET, ALICE_NAME, REDACTED_SECRET, KEPT_TEXT, ROOM_NAME]) expect(opened).toContain(marker);
    // The read model stripped the redacted event at once.
    const stored = await readModelText();
    expect(stored).not.toContain(REDACTED_SECRET);
    expect(stored).toContain(ALICE_SECRET);
  });

  it('erases a user deactivated with erase: true from PostgreSQL and the log', async () => {
    // The session is bound to the request's parameters (as Element sends it): `erase` from the first request on.
    const challenge = await alice.request('POST', '/account/deactivate', { json: { erase: true } });
    expect(await alice.post('/account/deactivate', {
      erase: true,
      auth: { type: 'm.login.password', session: challenge.body.session, identifier: { type: 'm.id.user', user: alice.userId }, password: PASSWORD },
    })).toEqual({ id_server_unbind_result: 'success' });

    const stored = await readModelText();
    expect(stored).not.toContain(ALICE_SECRET);
    expect(stored).not.toContain(ALICE_NAME);
    // The room keeps its current state even though alice set it, and bob keeps his messages.
    expect(stored).toContain(ROOM_NAME);
    expect(stored).toContain(KEPT_TEXT);

    const opened = await logText(erasure.seal(kafka));
    expect(opened).not.toContain(ALICE_SECRET);
    expect(opened).not.toContain(ALICE_NAME);
    expect(opened).toContain(ROOM_NAME);
    expect(opened).toContain(KEPT_TEXT);

    // Others read alice's message as redacted: the event is there, its content is not.
    const messages = await bob.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 50 });
    const hers = (messages.chunk as { sender: string; type: string; content: object }[]).filter((event) => event.sender === alice.userId && event.type === 'm.room.message');
    expect(hers).toHaveLength(1);
    expect(hers[0]!.content).toEqual({});
  });

  it('destroys redacted content only once the retention period has passed', async () => {
    expect(await erasure.sweepRedactions()).toBe(0);
    expect(await logText(erasure.seal(kafka))).toContain(REDACTED_SECRET);
    now += 7 * DAY + 60_000;
    expect(await erasure.sweepRedactions()).toBe(1);
    const opened = await logText(erasure.seal(kafka));
    expect(opened).not.toContain(REDACTED_SECRET);
    expect(opened).toContain(KEPT_TEXT);
    expect(await erasure.sweepRedactions()).toBe(0);
  });

  it('holds no body in ClickHouse', async () => {
    // The analytics projection has seen the redaction once it is in ClickHouse.
    for (let tries = 0; ; tries++) {
      const [row] = await ch.query<{ n: string }>("SELECT count() AS n FROM analytics_events FINAL WHERE event_type = 'm.room.redaction'");
      if (Number(row?.n) > 0) break;
      if (tries > 100) throw new Error('the analytics projection did not catch up');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const text = await clickHouseText();
    for (const marker of [ALICE_SECRET, ALICE_NAME, REDACTED_SECRET, KEPT_TEXT, ROOM_NAME]) expect(text).not.toContain(marker);
  });

  it('a rooms read model rebuilt from offset 0 holds none of the erased content', async () => {
    await rebuildProjection({ projection: roomsProjection, log: erasure.seal(kafka), db: rebuilt.db });
    const text = await tableText(rebuilt.db, 'room_events');
    expect(text).not.toContain(ALICE_SECRET);
    expect(text).not.toContain(ALICE_NAME);
    expect(text).not.toContain(REDACTED_SECRET);
    expect(text).toContain(KEPT_TEXT);
    expect(text).toContain(ROOM_NAME);
  });
});

describe('erasure (embedded log and PGlite)', () => {
  let dataDir: string;
  let server: TestServer;
  let client: MatrixClient;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'strata-erasure-'));
    server = await startTestServer({ mode: 'embedded', config: { STRATA_DATA_DIR: dataDir } });
    client = new MatrixClient(server.url);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Every byte of the embedded log's files. */
  const logBytes = async (): Promise<string> => {
    const files = (await readdir(path.join(dataDir, 'log'), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile());
    const contents = await Promise.all(files.map((file) => readFile(path.join(file.parentPath, file.name))));
    return Buffer.concat(contents).toString('latin1');
  };

  it("never writes content to the log's files, and erases a user's messages for the others", async () => {
    const [carol, dave] = await Promise.all(['carol', 'dave'].map(async (name) => client.as(await client.register(name))));
    const room = await carol.createRoom({ preset: 'public_chat' });
    await dave.post(`/join/${e(room)}`);
    const secret = `carol-secret-${suffix}`;
    await carol.send(room, secret);
    await dave.send(room, KEPT_TEXT);

    const bytes = await logBytes();
    expect(bytes.length).toBeGreaterThan(0);
    expect(bytes).not.toContain(secret);
    expect(bytes).not.toContain(KEPT_TEXT);
    expect(bytes).toContain(SEALED_HEADER);

    // The session is bound to the request's parameters (as Element sends it): `erase` from the first request on.
    const challenge = await carol.request('POST', '/account/deactivate', { json: { erase: true } });
    await carol.post('/account/deactivate', {
      erase: true,
      auth: { type: 'm.login.password', session: challenge.body.session, identifier: { type: 'm.id.user', user: carol.userId }, password: PASSWORD },
    });
    const messages = await dave.get(`/rooms/${e(room)}/messages`, { dir: 'b', limit: 50 });
    const texts = (messages.chunk as { sender: string; type: string; content: { body?: string } }[])
      .filter((event) => event.type === 'm.room.message').map((event) => ({ sender: event.sender, body: event.content.body }));
    expect(texts).toEqual([{ sender: dave.userId, body: KEPT_TEXT }, { sender: carol.userId, body: undefined }]);
  });
});
