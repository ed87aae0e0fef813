/**
 * The appservice sender against real Kafka and PostgreSQL (the rooms projection running beside it)
 * and fake bridges: plain node:http servers that record the transactions PUT to them and can be
 * told to fail, refuse or hang. Room records are built by hand (RoomRecords) and appended to the
 * log directly; transactions go through the real HTTP client (infra/appservices/client.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  parseRegistration, ROOM_EVENTS_TOPIC, type AppserviceRegistration, type JsonObject, type MembershipOutOfBand, type PduAccepted, type RoomLog,
} from '../../../domain/index.ts';
import { RoomRecords } from '../../../test/builders/index.ts';
import { openTestSchema, startRoomsStack, type RoomsStack, type TestSchema } from '../../../test/harness/index.ts';
import { createInProcessNotifier, createTypingStream, type UserDataStores } from '../../../domain/app/userData/index.ts';
import { createSqlRoomMembership } from '../../../projections/rooms/index.ts';
import { createKafkaLog, withNamespace } from '../../kafka/index.ts';
import { createSqlUserDataStores } from '../../userData/index.ts';
import { createAppserviceClient, type HttpAppserviceClient } from '../client.ts';
import {
  createAppserviceEphemeral, startAppserviceSender, tapNotifier, type AppserviceSender, type StartAppserviceSenderOptions,
} from './index.ts';

const US = 'us.test';
const ALICE = `@alice:${US}`;
const namespace = `assender${process.pid}x${Date.now() % 1_000_000}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const waitUntil = async (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(50);
  }
};

type Behaviour = 'ok' | 'fail' | 'refuse' | 'hang' | 'down';
interface Received { readonly txnId: string; readonly body: JsonObject; readonly authorization: string | undefined; readonly answered: number | null }

/** A bridge's HTTP side: records every transaction, answers as `behaviour` says. */
class FakeBridge {
  behaviour: Behaviour = 'ok';
  readonly received: Received[] = [];
  readonly #server: Server;
  readonly #hanging = new Set<ServerResponse>();
  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(): Promise<FakeBridge> {
    const handlers: ((req: IncomingMessage, res: ServerResponse) => void)[] = [];
    const server = createServer((req, res) => handlers[0]!(req, res));
    const bridge = new FakeBridge(server);
    handlers.push((req, res) => bridge.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return bridge;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const txnId = decodeURIComponent(req.url!.replace('/_matrix/app/v1/transactions/', ''));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject;
      const behaviour = this.behaviour;
      const status = behaviour === 'ok' ? 200 : behaviour === 'fail' ? 503 : behaviour === 'refuse' ? 400 : null;
      this.received.push({ txnId, body, authorization: req.headers.authorization, answered: status });
      if (behaviour === 'down') {
        req.socket.destroy();
        return;
      }
      if (status === null) {
        this.#hanging.add(res);
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{}' : '{"errcode":"M_UNKNOWN","error":"no"}');
    });
  }

  /** Transactions answered 200, in order. */
  delivered(): Received[] {
    return this.received.filter((txn) => txn.answered === 200);
  }

  deliveredEventIds(): string[] {
    return this.delivered().flatMap((txn) => (txn.body.events as JsonObject[]).map((event) => String(event.event_id)));
  }

  async close(): Promise<void> {
    for (const res of this.#hanging) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

let log: RoomLog;
let schema: TestSchema;
let stack: RoomsStack;
let client: HttpAppserviceClient;
const bridges: FakeBridge[] = [];
const logger = { info: () => undefined, warn: () => undefined };

const bridge = async (): Promise<FakeBridge> => {
  const started = await FakeBridge.start();
  bridges.push(started);
  return started;
};

let registrationCount = 0;
const registration = (url: string | null, namespaces: JsonObject, extra: JsonObject = {}): AppserviceRegistration => {
  registrationCount++;
  return parseRegistration({
    id: `bridge${registrationCount}`, url, as_token: `as${registrationCount}`, hs_token: `hs${registrationCount}`,
    sender_localpart: `bot${registrationCount}`, namespaces, ...extra,
  }, US, `bridge${registrationCount}.yaml`);
};
const users = (regex: string) => ({ users: [{ regex, exclusive: true }] });

const append = async (...records: (PduAccepted | MembershipOutOfBand)[]): Promise<void> => {
  await log.append(ROOM_EVENTS_TOPIC, records.map((record) => ({ key: record.roomId, value: record as never, headers: { type: record.type } })));
};

const startSender = async (overrides: Partial<StartAppserviceSenderOptions> & Pick<StartAppserviceSenderOptions, 'registrations'>): Promise<AppserviceSender> => {
  const sender = await startAppserviceSender({
    serverName: US, topic: ROOM_EVENTS_TOPIC, log, db: schema.db, client, rooms: stack.queries, directory: stack.directory,
    roomsProjection: stack.projection, logger, backoff: { startMs: 200, maxMs: 800 }, transactionTimeoutMs: 1_500, stopGraceMs: 200, ...overrides,
  });
  // A first start begins at the log's end: wait until it has its partitions before appending.
  const partitions = await log.partitionCount(ROOM_EVENTS_TOPIC);
  await waitUntil('the sender has its partitions', async () => Number((await schema.db.query<{ n: string }>(
    "SELECT count(*) AS n FROM projection_positions WHERE projection = 'appservice_sender'")).rows[0]!.n) === partitions);
  return sender;
};

const queued = async (appserviceId: string): Promise<number> => Number((await schema.db.query<{ n: string }>(
  'SELECT count(*) AS n FROM appservice_queue WHERE appservice_id = $1', [appserviceId])).rows[0]!.n);

beforeAll(async () => {
  const { kafkaBrokers } = inject('strataTestServices');
  log = withNamespace(await createKafkaLog({ brokers: kafkaBrokers, clientId: 'strata-appservice-sender-test' }), namespace);
  schema = await openTestSchema('assender', 4);
  stack = await startRoomsStack({ log, db: schema.db, serverName: US });
  client = createAppserviceClient();
});

afterAll(async () => {
  client?.close();
  await Promise.all(bridges.map((b) => b.close().catch(() => undefined)));
  await stack?.close();
  await schema?.drop();
  await log?.close();
  const { kafkaBrokers } = inject('strataTestServices');
  const admin = new Kafka({ brokers: kafkaBrokers, clientId: 'strata-appservice-sender-cleanup', logLevel: logLevel.NOTHING }).admin();
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

describe('appservice sender', () => {
  it('sends each bridge the events it is interested in, in log order, in the client format', async () => {
    const [byUser, byRoom, byAlias, uninterested] = [await bridge(), await bridge(), await bridge(), await bridge()];
    const userBridge = registration(byUser.url, users(`@ua_.*:${US}`));
    const roomBridge = registration(byRoom.url, { rooms: [{ regex: '!rb.*', exclusive: false }] });
    const aliasBridge = registration(byAlias.url, { aliases: [{ regex: `#ca_.*:${US}`, exclusive: true }] });
    const idle = registration(uninterested.url, users(`@nobody_.*:${US}`));
    const silent = registration(null, users(`@.*:${US}`));
    // A room with a puppet of userBridge joined, one named by roomBridge's namespace, one with an alias of aliasBridge's.
    const puppet = `@ua_bob:${US}`;
    const withPuppet = RoomRecords.created('puppet', ALICE, [puppet]);
    const named = new RoomRecords(`!rb${Math.random().toString(36).slice(2, 8)}:${US}`);
    const namedRecords = [named.event(ALICE, 'm.room.create', { room_version: '10' }, ''), named.member(ALICE, 'join')];
    const aliased = RoomRecords.created('aliased', ALICE, []);
    const plain = RoomRecords.created('plain', ALICE, ['@carol:them.test']);
    await stack.directory.createAlias(`#ca_room:${US}`, aliased.room.roomId, ALICE);
    const sender = await startSender({ registrations: [userBridge, roomBridge, aliasBridge, idle, silent] });
    try {
      await append(...withPuppet.records, ...namedRecords, ...aliased.records, ...plain.records);
      const p1 = withPuppet.room.message(ALICE, 'hello puppet');
      const p2 = withPuppet.room.message('@carol:them.test', 'a remote sender');
      const n1 = named.message(ALICE, 'in a named room');
      const a1 = aliased.room.message(ALICE, 'in an aliased room');
      const x1 = plain.room.message(ALICE, 'nobody cares');
      // An invite of one of userBridge's users in a room it has nobody in; then the puppet leaves its room.
      const invite = plain.room.member(`@ua_new:${US}`, 'invite', ALICE);
      const leave = withPuppet.room.member(puppet, 'leave');
      const after = withPuppet.room.message(ALICE, 'after the puppet left');
      // An invite of a puppet into a room this server is not in (a remote room).
      const outOfBand: MembershipOutOfBand = {
        type: 'membership.outOfBand', v: 1, roomId: '!remote:them.test', roomVersion: '10', eventId: `$oob${Math.random().toString(36).slice(2)}`,
        pdu: {
          type: 'm.room.member', state_key: `@ua_far:${US}`, sender: '@carol:them.test', content: { membership: 'invite' },
          room_id: '!remote:them.test', origin_server_ts: Date.now(), depth: 5, prev_events: [], auth_events: [],
        },
        strippedState: [{ type: 'm.room.name', state_key: '', sender: '@carol:them.test', content: { name: 'Far away' } }],
        receivedAt: Date.now(),
      };
      await append(p1, p2, n1, a1, x1, invite, leave, after, outOfBand);
      await waitUntil('the user bridge has its six events', () => byUser.deliveredEventIds().length >= 6);
      await waitUntil('the room and alias bridges have theirs', () => byRoom.deliveredEventIds().length >= 3 && byAlias.deliveredEventIds().length >= 3);
      await sleep(500);
      // The puppet's room from its join until it left (its leave included), the invite of a namespace
      // user, the out-of-band invite; in log order within each room (rooms of other partitions interleave).
      const puppetJoin = withPuppet.records[2]!;
      const sent = byUser.delivered().flatMap((txn) => txn.body.events as JsonObject[]);
      const inRoom = (roomId: string) => sent.filter((event) => event.room_id === roomId).map((event) => event.event_id);
      expect(inRoom(withPuppet.room.roomId)).toEqual([puppetJoin.eventId, p1.eventId, p2.eventId, leave.eventId]);
      expect(inRoom(plain.room.roomId)).toEqual([invite.eventId]);
      expect(inRoom(outOfBand.roomId)).toEqual([outOfBand.eventId]);
      expect(sent.length).toBe(6);
      // Everything in a room a namespace names, or with an alias one names.
      expect(byRoom.deliveredEventIds()).toEqual([...namedRecords.map((record) => record.eventId), n1.eventId]);
      expect(byAlias.deliveredEventIds()).toEqual([...aliased.records.map((record) => record.eventId), a1.eventId]);
      expect(uninterested.received).toEqual([]);
      // The client format, as /sync shows timeline events; the hs_token as a bearer token; ids counting up.
      const first = sent.find((event) => event.event_id === p1.eventId)!;
      expect(first).toMatchObject({
        event_id: p1.eventId, room_id: withPuppet.room.roomId, sender: ALICE, type: 'm.room.message', content: { body: 'hello puppet' },
      });
      expect(first).not.toHaveProperty('signatures');
      expect(first).not.toHaveProperty('prev_events');
      expect(typeof (first.unsigned as JsonObject).age).toBe('number');
      const oob = sent.find((event) => event.event_id === outOfBand.eventId)!;
      expect((oob.unsigned as JsonObject).invite_room_state).toEqual(outOfBand.strippedState);
      // A local invite: the room's stripped state at the invite, with the inviter's membership.
      const localInvite = sent.find((event) => event.event_id === invite.eventId)!;
      expect((localInvite.unsigned as JsonObject).invite_room_state).toMatchObject([
        { type: 'm.room.create', state_key: '', sender: ALICE, content: { room_version: '10' } },
        { type: 'm.room.member', state_key: ALICE, sender: ALICE, content: { membership: 'join' } },
      ]);
      expect(((localInvite.unsigned as JsonObject).invite_room_state as JsonObject[]).length).toBe(2);
      for (const txn of byUser.received) {
        expect(txn.authorization).toBe(`Bearer ${userBridge.hsToken}`);
        // Without receive_ephemeral a transaction carries events alone.
        expect(Object.keys(txn.body)).toEqual(['events']);
      }
      const ids = byUser.delivered().map((txn) => Number(txn.txnId));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(new Set(ids).size).toBe(ids.length);
      await waitUntil('the queues are empty', async () => (await queued(userBridge.id)) === 0 && (await queued(roomBridge.id)) === 0);
    } finally {
      await sender.stop();
    }
  });

  it('retries a failing or refusing bridge with the same transaction, then delivers everything in order', async () => {
    const flaky = await bridge();
    const flakyBridge = registration(flaky.url, users(`@fl_.*:${US}`));
    const { room, records } = RoomRecords.created('flaky', ALICE, [`@fl_bob:${US}`]);
    const registry = new Registry();
    const metric = async (name: string, labels: Record<string, string>): Promise<number | undefined> =>
      (await registry.getSingleMetric(name)?.get())?.values.find((value) => Object.entries(labels).every(([k, v]) => value.labels[k] === v))?.value;
    const sender = await startSender({ registrations: [flakyBridge], registry });
    try {
      flaky.behaviour = 'fail';
      await append(...records);
      const messages = Array.from({ length: 5 }, (_, i) => room.message(ALICE, `m${i}`));
      await append(...messages.slice(0, 2));
      await waitUntil('two failed attempts', () => flaky.received.length >= 2);
      await waitUntil('the bridge rests', async () => (await metric('strata_appservice_in_backoff', { appservice: flakyBridge.id })) === 1);
      await waitUntil('the queue shows the events waiting', async () => (await metric('strata_appservice_queued_events', { appservice: flakyBridge.id })) === 3);
      expect(await metric('strata_appservice_lag_seconds', { appservice: flakyBridge.id })).toBeGreaterThan(0);
      flaky.behaviour = 'refuse';
      await append(...messages.slice(2));
      await waitUntil('a refused attempt', () => flaky.received.some((txn) => txn.answered === 400));
      flaky.behaviour = 'down';
      await waitUntil('an attempt while down', () => flaky.received.some((txn) => txn.answered === null));
      const failedIds = new Set(flaky.received.map((txn) => txn.txnId));
      // Every failed attempt was the one transaction, with the same events.
      expect(failedIds.size).toBe(1);
      const firstBody = JSON.stringify((flaky.received[0]!.body.events as JsonObject[]).map((event) => event.event_id));
      for (const txn of flaky.received) expect(JSON.stringify((txn.body.events as JsonObject[]).map((event) => event.event_id))).toBe(firstBody);
      flaky.behaviour = 'ok';
      await waitUntil('everything delivered', () => flaky.deliveredEventIds().length >= 6, 10_000);
      expect(flaky.deliveredEventIds()).toEqual([records[2]!.eventId, ...messages.map((m) => m.eventId)]);
      // The retried transaction was acknowledged under its first id.
      expect(flaky.delivered()[0]!.txnId).toBe([...failedIds][0]);
      await waitUntil('the queue is empty', async () => (await queued(flakyBridge.id)) === 0);
      // /metrics, per bridge: transactions by result, events sent, queue, lag and backoff.
      const appservice = flakyBridge.id;
      expect(await metric('strata_appservice_transactions_total', { appservice, result: 'unavailable' })).toBeGreaterThanOrEqual(3);
      expect(await metric('strata_appservice_transactions_total', { appservice, result: 'refused' })).toBeGreaterThanOrEqual(1);
      expect(await metric('strata_appservice_transactions_total', { appservice, result: 'delivered' })).toBe(flaky.delivered().length);
      expect(await metric('strata_appservice_events_sent_total', { appservice })).toBe(6);
      await waitUntil('the queue and lag read 0', async () => (await metric('strata_appservice_queued_events', { appservice })) === 0
        && (await metric('strata_appservice_lag_seconds', { appservice })) === 0);
      expect(await metric('strata_appservice_in_backoff', { appservice })).toBe(0);
    } finally {
      await sender.stop();
    }
  });

  it('keeps what is queued across a restart of the sender: nothing lost, nothing reordered, the same transaction id', async () => {
    const target = await bridge();
    const restartBridge = registration(target.url, users(`@rs_.*:${US}`));
    const { room, records } = RoomRecords.created('restart', ALICE, [`@rs_bob:${US}`]);
    let sender = await startSender({ registrations: [restartBridge] });
    const messages = Array.from({ length: 130 }, (_, i) => room.message(ALICE, `r${i}`));
    try {
      target.behaviour = 'fail';
      await append(...records, ...messages.slice(0, 60));
      await waitUntil('a failed attempt', () => target.received.length >= 1);
      await waitUntil('all 61 queued', async () => (await queued(restartBridge.id)) === 61);
    } finally {
      await sender.stop();
    }
    const inFlight = target.received[0]!;
    // At most one transaction's worth is read at a time.
    expect((inFlight.body.events as JsonObject[]).length).toBeLessThanOrEqual(100);
    await append(...messages.slice(60));
    target.behaviour = 'ok';
    sender = await startSender({ registrations: [restartBridge] });
    try {
      await waitUntil('everything delivered after the restart', () => target.deliveredEventIds().length >= 131);
      await sleep(300);
      expect(target.deliveredEventIds()).toEqual([records[2]!.eventId, ...messages.map((m) => m.eventId)]);
      expect(target.delivered()[0]!.txnId).toBe(inFlight.txnId);
      expect(target.delivered().every((txn) => (txn.body.events as JsonObject[]).length <= 100)).toBe(true);
    } finally {
      await sender.stop();
    }
  });

  it('ends a bridge\'s rest when it is known to answer again (a ping)', async () => {
    const resting = await bridge();
    const restingBridge = registration(resting.url, users(`@wk_.*:${US}`));
    const { room, records } = RoomRecords.created('wake', ALICE, [`@wk_bob:${US}`]);
    const sender = await startSender({ registrations: [restingBridge], backoff: { startMs: 60_000, maxMs: 60_000 } });
    try {
      resting.behaviour = 'fail';
      const message = room.message(ALICE, 'after the ping');
      await append(...records, message);
      await waitUntil('a failed attempt', () => resting.received.length >= 1);
      resting.behaviour = 'ok';
      await sleep(500);
      // A minute's rest: nothing is tried meanwhile…
      expect(resting.received.length).toBe(1);
      // …until the bridge is known to answer.
      sender.wake(restingBridge.id);
      await waitUntil('delivered after the wake', () => resting.deliveredEventIds().includes(message.eventId), 3_000);
      expect(resting.delivered()[0]!.txnId).toBe(resting.received[0]!.txnId);
    } finally {
      await sender.stop();
    }
  });

  it('does not let a hanging bridge delay another', async () => {
    const [hanging, healthy] = [await bridge(), await bridge()];
    hanging.behaviour = 'hang';
    const hangingBridge = registration(hanging.url, users(`@hg_.*:${US}`));
    const healthyBridge = registration(healthy.url, users(`@hl_.*:${US}`));
    const { room, records } = RoomRecords.created('both', ALICE, [`@hg_bob:${US}`, `@hl_bob:${US}`]);
    const sender = await startSender({ registrations: [hangingBridge, healthyBridge], transactionTimeoutMs: 30_000 });
    try {
      await append(...records);
      await waitUntil('the healthy bridge has its join', () => healthy.deliveredEventIds().length >= 1);
      const messages = Array.from({ length: 3 }, (_, i) => room.message(ALICE, `h${i}`));
      for (const message of messages) {
        const started = Date.now();
        await append(message);
        await waitUntil('the healthy bridge has it', () => healthy.deliveredEventIds().includes(message.eventId), 5_000);
        expect(Date.now() - started).toBeLessThan(3_000);
      }
      // The hanging bridge still waits for the answer to its first transaction.
      expect(hanging.received.length).toBe(1);
      expect(healthy.deliveredEventIds()).toEqual([records[3]!.eventId, ...messages.map((m) => m.eventId)]);
    } finally {
      await sender.stop();
    }
  });
});

describe('appservice sender, ephemeral data', () => {
  it('sends typing, receipts, presence and to-device messages to a bridge that opted in, and keeps its positions across a restart', async () => {
    const [opted, plainTarget] = [await bridge(), await bridge()];
    const ephemeralBridge = registration(opted.url, users(`@eph_.*:${US}`), { receive_ephemeral: true });
    const plainBridge = registration(plainTarget.url, users(`@neph_.*:${US}`));
    const puppet = `@eph_bob:${US}`;
    const stores: UserDataStores = await createSqlUserDataStores(schema.db);
    const tap = tapNotifier(createInProcessNotifier());
    const typing = createTypingStream(tap.notifier);
    const { room, records } = RoomRecords.created('ephemeral', ALICE, [puppet, `@neph_bob:${US}`]);
    await append(...records);
    await waitUntil('the rooms projection has the room', async () => (await stack.queries.members(room.roomId)).length === 3);
    const start = async () => startSender({
      registrations: [ephemeralBridge, plainBridge],
      extras: await createAppserviceEphemeral({
        db: schema.db, serverName: US, registrations: [ephemeralBridge, plainBridge], tap, currentPositions: () => stores.currentPositions(),
        typing, membership: createSqlRoomMembership(schema.db), rooms: stack.queries, directory: stack.directory, wakeDelayMs: 20,
        devices: { listDevices: async () => [] }, keyCounts: (userId, deviceId) => stores.keys.keyCounts(userId, deviceId),
      }),
    });
    const streamsStored = async () => Object.keys((await schema.db.query<{ streams: JsonObject }>(
      'SELECT streams FROM appservice_state WHERE appservice_id = $1', [ephemeralBridge.id])).rows[0]?.streams ?? {}).length === 3;
    const ephemeralSeen = () => opted.delivered().flatMap((txn) => (txn.body.ephemeral as JsonObject[] | undefined) ?? []);
    const toDeviceSeen = () => opted.delivered().flatMap((txn) => (txn.body['de.sorunome.msc2409.to_device'] as JsonObject[] | undefined) ?? []);
    let sender = await start();
    try {
      // A bridge's first positions are the streams' current ones: nothing from before it ran.
      await waitUntil('the bridge has stream positions', streamsStored);
      const message = room.message(ALICE, 'read me');
      await append(message);
      await waitUntil('the message reached the bridge', () => opted.deliveredEventIds().includes(message.eventId));
      typing.setTyping(room.roomId, ALICE, true, 30_000);
      await stores.receipts.put({ roomId: room.roomId, receiptType: 'm.read', userId: ALICE, eventId: message.eventId, ts: 1_000 });
      await stores.receipts.put({ roomId: room.roomId, receiptType: 'm.read.private', userId: `@neph_bob:${US}`, eventId: message.eventId, ts: 1_001 });
      tap.notifier.notify([room.roomId]);
      await stores.presence.set({ userId: ALICE, presence: 'online', lastActiveTs: Date.now() });
      tap.notifier.notify([ALICE, puppet]);
      await stores.toDevice.send({ userId: ALICE, deviceId: 'ADEVICE' }, 'txn1', 'm.test', [
        { userId: puppet, deviceId: 'PUPPETDEV', content: { secret: 1 } },
        { userId: `@carol:${US}`, deviceId: 'CDEV', content: { secret: 2 } },
      ]);
      tap.notifier.notify([puppet, `@carol:${US}`]);
      await waitUntil('typing, receipt, presence and to-device arrived', () => {
        const types = new Set(ephemeralSeen().map((event) => event.type));
        return types.has('m.typing') && types.has('m.receipt') && types.has('m.presence') && toDeviceSeen().length > 0;
      });
      await sleep(300);
      const ephemeral = ephemeralSeen();
      expect(ephemeral.filter((event) => event.type === 'm.typing').at(-1)).toEqual({ type: 'm.typing', room_id: room.roomId, content: { user_ids: [ALICE] } });
      // Private receipts never leave for a bridge.
      expect(ephemeral.filter((event) => event.type === 'm.receipt')).toEqual([
        { type: 'm.receipt', room_id: room.roomId, content: { [message.eventId]: { 'm.read': { [ALICE]: { ts: 1_000 } } } } },
      ]);
      const presence = ephemeral.filter((event) => event.type === 'm.presence');
      expect(presence).toHaveLength(1);
      expect(presence[0]).toMatchObject({ type: 'm.presence', sender: ALICE, content: { presence: 'online' } });
      // Its users' messages only, with their recipient.
      expect(toDeviceSeen()).toEqual([{ type: 'm.test', sender: ALICE, content: { secret: 1 }, to_user_id: puppet, to_device_id: 'PUPPETDEV' }]);
      // Both names of the ephemeral list, as Synapse sends them.
      for (const txn of opted.delivered()) expect(txn.body['de.sorunome.msc2409.ephemeral']).toEqual(txn.body.ephemeral);
      // A bridge that did not opt in gets events alone.
      expect(plainTarget.deliveredEventIds()).toContain(message.eventId);
      for (const txn of plainTarget.received) expect(Object.keys(txn.body)).toEqual(['events']);
    } finally {
      await sender.stop();
    }
    // While the sender is stopped, a new receipt: after the restart it arrives, and nothing is sent twice.
    const before = opted.delivered().length;
    const later = room.message(ALICE, 'read me too');
    await append(later);
    await stores.receipts.put({ roomId: room.roomId, receiptType: 'm.read', userId: ALICE, eventId: later.eventId, ts: 2_000 });
    sender = await start();
    try {
      await waitUntil('the later receipt arrived', () => opted.delivered().slice(before)
        .some((txn) => ((txn.body.ephemeral as JsonObject[]) ?? []).some((event) => event.type === 'm.receipt')));
      const resent = opted.delivered().slice(before).flatMap((txn) => txn.body.ephemeral as JsonObject[]);
      expect(resent.filter((event) => event.type === 'm.receipt')).toEqual([
        { type: 'm.receipt', room_id: room.roomId, content: { [later.eventId]: { 'm.read': { [ALICE]: { ts: 2_000 } } } } },
      ]);
      expect(resent.filter((event) => event.type === 'm.presence')).toEqual([]);
      expect(opted.delivered().slice(before).flatMap((txn) => txn.body['de.sorunome.msc2409.to_device'] as JsonObject[])).toEqual([]);
      // The event appended while stopped arrives too (the log consumer resumes from its position).
      await waitUntil('the later event arrived', () => opted.deliveredEventIds().includes(later.eventId));
    } finally {
      await sender.stop();
      typing.close();
    }
  });
});

describe('appservice sender, MSC3202', () => {
  it('sends device list changes and its users\' key counts to a bridge that opted in', async () => {
    const target = await bridge();
    const msc3202Bridge = registration(target.url, users(`@dev_.*:${US}`), { 'org.matrix.msc3202': true });
    const puppet = `@dev_bob:${US}`;
    const stores: UserDataStores = await createSqlUserDataStores(schema.db);
    const tap = tapNotifier(createInProcessNotifier());
    const typing = createTypingStream(tap.notifier);
    const { room, records } = RoomRecords.created('devices', ALICE, [puppet]);
    await append(...records);
    await waitUntil('the rooms projection has the room', async () => (await stack.queries.members(room.roomId)).length === 2);
    const sender = await startSender({
      registrations: [msc3202Bridge],
      extras: await createAppserviceEphemeral({
        db: schema.db, serverName: US, registrations: [msc3202Bridge], tap, currentPositions: () => stores.currentPositions(),
        typing, membership: createSqlRoomMembership(schema.db), rooms: stack.queries, directory: stack.directory, wakeDelayMs: 20,
        devices: { listDevices: async (userId) => (userId === puppet ? [{ deviceId: 'PUPPETDEV' }] : []) },
        keyCounts: (userId, deviceId) => stores.keys.keyCounts(userId, deviceId),
      }),
    });
    try {
      await waitUntil('the bridge has a device list position', async () => (await schema.db.query<{ streams: JsonObject }>(
        'SELECT streams FROM appservice_state WHERE appservice_id = $1', [msc3202Bridge.id])).rows[0]?.streams.device_lists !== undefined);
      await stores.keys.addOneTimeKeys(puppet, 'PUPPETDEV', new Map([['signed_curve25519:AAAA', { key: 'k1' }], ['signed_curve25519:BBBB', { key: 'k2' }]]));
      await stores.keys.setFallbackKeys(puppet, 'PUPPETDEV', new Map([['signed_curve25519:FFFF', { key: 'f' }]]));
      // Alice shares a room with the bridge's puppet: her new device concerns it; Carol shares none.
      await stores.keys.recordDeviceListChange(ALICE);
      await stores.keys.recordDeviceListChange(`@carol:${US}`);
      tap.notifier.notify([ALICE, puppet]);
      const message = room.message(ALICE, 'keys');
      await append(message);
      await waitUntil('the device lists and the message arrived', () => target.delivered().some((txn) => txn.body['org.matrix.msc3202.device_lists'] !== undefined)
        && target.deliveredEventIds().includes(message.eventId));
      const lists = target.delivered().flatMap((txn) => ((txn.body['org.matrix.msc3202.device_lists'] as JsonObject | undefined)?.changed as string[]) ?? []);
      expect(lists).toContain(ALICE);
      expect(lists).not.toContain(`@carol:${US}`);
      const withMessage = target.delivered().find((txn) => (txn.body.events as JsonObject[]).some((event) => event.event_id === message.eventId))!;
      expect(withMessage.body['org.matrix.msc3202.device_one_time_keys_count']).toEqual({ [puppet]: { PUPPETDEV: { signed_curve25519: 2 } } });
      expect(withMessage.body['org.matrix.msc3202.device_one_time_key_counts']).toEqual(withMessage.body['org.matrix.msc3202.device_one_time_keys_count']);
      expect(withMessage.body['org.matrix.msc3202.device_unused_fallback_key_types']).toEqual({ [puppet]: { PUPPETDEV: ['signed_curve25519'] } });
      // Without receive_ephemeral: no ephemeral lists.
      expect(withMessage.body).not.toHaveProperty('ephemeral');
    } finally {
      await sender.stop();
      typing.close();
    }
  });
});
