/**
 * The federation sender against real Kafka and PostgreSQL (the rooms projection running beside
 * it) and fake remote homeservers: plain HTTPS servers named `127.0.0.1:<port>` that record the
 * transactions PUT to them and can be told to fail, hang, refuse or go down (TransactionRecorder).
 * Room records are built by hand (RoomRecords) and appended to the log directly: the remote
 * members join through no federation flow, so the tests need no remote keys or signatures.
 */
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ROOM_EVENTS_TOPIC, type JsonObject, type PduAccepted, type RoomLog } from '../../../domain/index.ts';
import { RoomRecords } from '../../../test/builders/index.ts';
import {
  openTestSchema, startRoomsStack, testSigningKey, TransactionRecorder, type RoomsStack, type TestSchema,
} from '../../../test/harness/index.ts';
import { createKafkaLog, withNamespace } from '../../kafka/index.ts';
import { createFederationClient, type FederationClient } from '../client/index.ts';
import { startFederationSender, type FederationSender, type StartFederationSenderOptions } from './index.ts';

const US = 'us.test';
const ALICE = `@alice:${US}`;
const namespace = `fedsender${process.pid}x${Date.now() % 1_000_000}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const waitUntil = async (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
};

let log: RoomLog;
let schema: TestSchema;
let stack: RoomsStack;
let client: FederationClient;
const remotes: TransactionRecorder[] = [];
const warnings: string[] = [];
const logger = { info: () => undefined, warn: (_fields: Record<string, unknown>, message: string) => { warnings.push(message); } };

const remote = async (): Promise<TransactionRecorder> => {
  const started = await TransactionRecorder.start();
  remotes.push(started);
  return started;
};

const append = async (...records: PduAccepted[]): Promise<void> => {
  await log.append(ROOM_EVENTS_TOPIC, records.map((record) => ({ key: record.roomId, value: record as never, headers: { type: record.type } })));
};

const startSender = async (overrides: Partial<StartFederationSenderOptions> = {}): Promise<FederationSender> => {
  const sender = await startFederationSender({
    serverName: US, topic: ROOM_EVENTS_TOPIC, log, db: schema.db, rooms: stack.queries, roomsProjection: stack.projection, client, logger,
    backoff: { startMs: 300, maxMs: 1_000 }, transactionTimeoutMs: 1_500, stopGraceMs: 200, ...overrides,
  });
  // A first start begins at the log's end: wait until it has its partitions before appending.
  const partitions = await log.partitionCount(ROOM_EVENTS_TOPIC);
  await waitUntil('the sender has its partitions', async () => Number((await schema.db.query<{ n: string }>(
    "SELECT count(*) AS n FROM projection_positions WHERE projection = 'federation_sender'")).rows[0]!.n) === partitions);
  return sender;
};

const catchUpRows = async (destination: string) => (await schema.db.query<{ event_id: string }>(
  'SELECT event_id FROM federation_catch_up WHERE destination = $1', [destination])).rows.map((row) => row.event_id);

beforeAll(async () => {
  const { kafkaBrokers } = inject('strataTestServices');
  log = withNamespace(await createKafkaLog({ brokers: kafkaBrokers, clientId: 'strata-federation-sender-test' }), namespace);
  schema = await openTestSchema('fedsender', 4);
  stack = await startRoomsStack({ log, db: schema.db, serverName: US });
  client = createFederationClient({
    serverName: US, signingKey: testSigningKey(US), verifyCertificates: false, ipRangeWhitelist: ['127.0.0.1/32'], connectTimeoutMs: 1_000,
  });
});

afterAll(async () => {
  client?.close();
  await Promise.all(remotes.map((r) => r.down().catch(() => undefined)));
  await stack?.close();
  await schema?.drop();
  await log?.close();
  const { kafkaBrokers } = inject('strataTestServices');
  const admin = new Kafka({ brokers: kafkaBrokers, clientId: 'strata-federation-sender-cleanup', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((group) => group.groupId).filter((id) => id.startsWith(`${namespace}.`));
    if (groups.length > 0) await admin.deleteGroups(groups);
    const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(`${namespace}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
});

describe('federation sender', () => {
  it('sends our events to every server with a joined member, and a membership event to its subject\'s server', async () => {
    const [r1, r2] = [await remote(), await remote()];
    const bob = r1.user('bob');
    const { room, records } = RoomRecords.created('deliver', ALICE, [bob]);
    await append(...records);
    const sender = await startSender();
    try {
      const m1 = room.message(ALICE, 'one');
      const theirs = room.message(bob, 'from bob');
      const invite = room.member(r2.user('carol'), 'invite', ALICE);
      const m2 = room.message(ALICE, 'two');
      await append(m1, theirs, invite, m2);
      await waitUntil('r1 has our three events', () => r1.deliveredEventIds().length >= 3);
      await waitUntil('r2 has the invite', () => r2.deliveredEventIds().length >= 1);
      await sleep(300);
      // Ours only, in log order; the invite also to the invitee's server, which gets nothing else.
      expect(r1.deliveredEventIds()).toEqual([m1.eventId, invite.eventId, m2.eventId]);
      expect(r2.deliveredEventIds()).toEqual([invite.eventId]);
      // The PDU exactly as the record holds it; the spec's transaction fields; signed by us.
      const sent = r1.delivered().flatMap((txn) => txn.body.pdus as JsonObject[]);
      expect(sent).toEqual([room.pdus.get(m1.eventId), room.pdus.get(invite.eventId), room.pdus.get(m2.eventId)]);
      for (const txn of [...r1.delivered(), ...r2.delivered()]) {
        expect(txn.body).toMatchObject({ origin: US, edus: [] });
        expect(typeof txn.body.origin_server_ts).toBe('number');
        expect(txn.authorization).toMatch(/^X-Matrix origin="?us\.test"?,/);
      }
      expect(new Set(r1.delivered().map((txn) => txn.txnId)).size).toBe(r1.delivered().length);
      await waitUntil('acknowledged events leave no catch-up rows', async () =>
        (await catchUpRows(r1.name)).length === 0 && (await catchUpRows(r2.name)).length === 0);
    } finally {
      await sender.stop();
    }
  });

  it('does not let a hanging destination delay another, and catches it up with the room\'s latest event', async () => {
    const [slow, fast] = [await remote(), await remote()];
    slow.behaviour = 'hang';
    const { room, records } = RoomRecords.created('catchup', ALICE, [slow.user('bob'), fast.user('dan')]);
    await append(...records);
    const sender = await startSender();
    try {
      const m1 = room.message(ALICE, 'one');
      await append(m1);
      await waitUntil('the fast destination has m1', () => fast.deliveredEventIds().includes(m1.eventId), 5_000);
      // The slow one still holds its first transaction open (it times out after 1.5 s).
      expect(slow.transactions.length).toBeLessThanOrEqual(1);
      expect(slow.delivered()).toEqual([]);
      const m2 = room.message(ALICE, 'two');
      const m3 = room.message(ALICE, 'three');
      await append(m2);
      await append(m3);
      await waitUntil('the fast destination has m3', () => fast.deliveredEventIds().includes(m3.eventId), 5_000);
      expect(fast.deliveredEventIds()).toEqual([m1.eventId, m2.eventId, m3.eventId]);
      expect(slow.delivered()).toEqual([]);
      expect(await catchUpRows(slow.name)).toEqual([m3.eventId]);

      slow.behaviour = 'ok';
      await waitUntil('the slow destination caught up', () => slow.deliveredEventIds().length > 0, 10_000);
      // Catch-up sends the latest event of the room only; the remote fetches what lies before it.
      expect(slow.deliveredEventIds()).toEqual([m3.eventId]);
      await waitUntil('its catch-up row is gone', async () => (await catchUpRows(slow.name)).length === 0);
      expect(warnings).toContain('federation transaction failed; the destination rests, then catches up');

      // Caught up, it takes events as they come again.
      const m4 = room.message(ALICE, 'four');
      await append(m4);
      await waitUntil('the slow destination has m4', () => slow.deliveredEventIds().includes(m4.eventId));
      expect(slow.deliveredEventIds()).toEqual([m3.eventId, m4.eventId]);
    } finally {
      await sender.stop();
    }
  });

  it('after a restart, sends the latest undelivered event of each room and the durable EDUs', async () => {
    const r = await remote();
    const { room, records } = RoomRecords.created('restart', ALICE, [r.user('bob')]);
    const other = RoomRecords.created('restart2', ALICE, [r.user('bea')]);
    await append(...records, ...other.records);
    await r.down();
    const first = await startSender();
    let m2: PduAccepted;
    let o1: PduAccepted;
    try {
      const m1 = room.message(ALICE, 'one');
      m2 = room.message(ALICE, 'two');
      o1 = other.room.message(ALICE, 'elsewhere');
      await append(m1, o1);
      await append(m2);
      await first.sendEdu([r.name, US], { edu_type: 'm.direct_to_device', content: { message_id: 'durable' } }, { durable: true });
      await first.sendEdu([r.name], { edu_type: 'm.typing', content: { lost: true } });
      await waitUntil('the undelivered events are recorded', async () => (await catchUpRows(r.name)).sort().join() === [m2.eventId, o1.eventId].sort().join());
    } finally {
      await first.stop();
    }
    await r.up();
    await sleep(500);
    expect(r.transactions).toEqual([]);
    const second = await startSender();
    try {
      // Rows go once the acknowledgement is in, a moment after the remote answered.
      const durableRows = async () => (await schema.db.query('SELECT 1 FROM federation_durable_edus WHERE destination = $1', [r.name])).rows.length;
      await waitUntil('the restarted sender caught the destination up', async () =>
        r.deliveredEventIds().length >= 2 && r.deliveredEdus().length >= 1 && (await catchUpRows(r.name)).length === 0 && (await durableRows()) === 0);
      expect(r.deliveredEventIds().sort()).toEqual([m2.eventId, o1.eventId].sort());
      // The durable EDU survived the restart; the best-effort one did not.
      expect(r.deliveredEdus()).toEqual([{ edu_type: 'm.direct_to_device', content: { message_id: 'durable' } }]);
    } finally {
      await second.stop();
    }
  });

  it('wakes a destination resting in backoff when asked', async () => {
    const r = await remote();
    r.behaviour = 'error';
    const { room, records } = RoomRecords.created('wake', ALICE, [r.user('bob')]);
    await append(...records);
    const sender = await startSender({ backoff: { startMs: 60_000, maxMs: 60_000 } });
    try {
      const m1 = room.message(ALICE, 'one');
      await append(m1);
      await waitUntil('the destination failed a transaction', () => r.transactions.length === 1);
      r.behaviour = 'ok';
      await sleep(500);
      expect(r.transactions.length).toBe(1);
      sender.wake(r.name);
      await waitUntil('the woken destination has m1', () => r.deliveredEventIds().includes(m1.eventId), 5_000);
    } finally {
      await sender.stop();
    }
  });

  it('gives up a refused transaction, and batches at most 50 PDUs and 100 EDUs', async () => {
    const r = await remote();
    r.behaviour = 'refuse';
    const { room, records } = RoomRecords.created('limits', ALICE, [r.user('bob')]);
    await append(...records);
    const sender = await startSender();
    try {
      const refused = room.message(ALICE, 'refused');
      await append(refused);
      await waitUntil('the destination refused it', () => r.transactions.length === 1);
      await waitUntil('the refusal was logged', () => warnings.includes('federation transaction refused; not retried'));
      r.behaviour = 'ok';
      r.delayMs = 300;
      const many = Array.from({ length: 120 }, (_, i) => room.message(ALICE, `m${i}`));
      await append(...many);
      await waitUntil('all 120 arrived', () => r.deliveredEventIds().length === 120);
      // The refused event is never sent again; the rest in order, 50 at most at once.
      expect(r.deliveredEventIds()).toEqual(many.map((record) => record.eventId));
      const pduCounts = r.delivered().map((txn) => (txn.body.pdus as unknown[]).length);
      expect(Math.max(...pduCounts)).toBe(50);

      for (let i = 0; i < 150; i++) await sender.sendEdu([r.name], { edu_type: 'm.typing', content: { i } });
      await waitUntil('all 150 EDUs arrived', () => r.deliveredEdus().length === 150);
      expect(r.deliveredEdus().map((edu) => (edu.content as JsonObject).i)).toEqual(Array.from({ length: 150 }, (_, i) => i));
      expect(Math.max(...r.delivered().map((txn) => (txn.body.edus as unknown[]).length))).toBe(100);
    } finally {
      await sender.stop();
    }
  });
});
