/**
 * Test harness for /sync over real HTTP: accounts, rooms, per-user data and sync routes on one app,
 * with the rooms projection waking the notifier as the composition root wires it. Runs on the
 * embedded log + PGlite, or on Kafka + PostgreSQL (a topic name and a schema of its own).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, inject } from 'vitest';
import { ROOM_EVENTS_TOPIC, type RoomLog, type SqlDatabase } from '../../../domain/index.ts';
import { createAccounts, createMemoryAccountStore } from '../../../domain/app/accounts/index.ts';
import { createRooms, createRoomWriter } from '../../../domain/app/rooms/index.ts';
import { createSync, deviceListPositionOf, roomWakeKeys } from '../../../domain/app/sync/index.ts';
import { createInProcessNotifier, createUserData, type UserData } from '../../../domain/app/userData/index.ts';
import { createEmbeddedLog } from '../../../infra/embedded/index.ts';
import { createKafkaLog } from '../../../infra/kafka/index.ts';
import { createPgliteDatabase } from '../../../infra/pglite/index.ts';
import { createPostgresDatabase } from '../../../infra/postgres/index.ts';
import { createArgon2PasswordHasher, cryptoRandom, systemClock } from '../../../infra/stores/index.ts';
import { createSqlUserDataStores } from '../../../infra/userData/index.ts';
import {
  createRoomQueries, createSqlRoomDirectory, createSqlRoomMembership, createSyncQueries, ensureRoomDirectorySchema,
  ensureSyncIndexes, roomsProjection,
} from '../../../projections/rooms/index.ts';
import { testSigningKey } from '../../../test/harness/index.ts';
import { startProjection } from '../../../projections/runtime/index.ts';
import { serveTestApp, type TestServer } from '../../http/testing.ts';
import { createAccountsRouter } from '../accounts/index.ts';
import { createRoomsRouter } from '../rooms/index.ts';
import { createUserDataRouter } from '../userData/index.ts';
import { createSyncRouter } from './router.ts';

export const V3 = '/_matrix/client/v3';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Body = Record<string, any>;

export interface Reply {
  readonly status: number;
  readonly body: Body;
}

export interface Session {
  readonly token: string;
  readonly userId: string;
  readonly deviceId: string;
}

export interface SyncHarness {
  readonly server: TestServer;
  readonly userData: UserData;
  call(method: string, urlPath: string, token?: string, body?: unknown): Promise<Reply>;
  ok(method: string, urlPath: string, token?: string, body?: unknown): Promise<Body>;
  register(username: string): Promise<Session>;
  login(username: string, deviceId: string): Promise<Session>;
  close(): Promise<void>;
}

export type Backend = 'embedded' | 'distributed';

/** The room log with ROOM_EVENTS_TOPIC renamed, so a test on a shared Kafka has a topic of its own. */
const renamedTopic = (log: RoomLog, topic: string): RoomLog => {
  const to = (name: string): string => (name === ROOM_EVENTS_TOPIC ? topic : name);
  const from = (name: string): string => (name === topic ? ROOM_EVENTS_TOPIC : name);
  return {
    ensureTopic: (name, partitions) => log.ensureTopic(to(name), partitions),
    partitionCount: (name) => log.partitionCount(to(name)),
    partitionFor: (name, key) => log.partitionFor(to(name), key),
    append: (name, records) => log.append(to(name), records),
    read: async (name, partition, offset, max) => (await log.read(to(name), partition, offset, max)).map((e) => ({ ...e, topic: from(e.topic) })),
    endOffset: (name, partition) => log.endOffset(to(name), partition),
    subscribe: (options, handlers) => log.subscribe({ ...options, topic: to(options.topic) }, {
      onAssigned: (name, partitions) => handlers.onAssigned(from(name), partitions),
      onRevoked: (name, partitions) => handlers.onRevoked(from(name), partitions),
      onBatch: (batch) => handlers.onBatch({ ...batch, topic: from(batch.topic), entries: batch.entries.map((e) => ({ ...e, topic: from(e.topic) })) }),
    }),
    close: () => log.close(),
  };
};

const openBackend = async (backend: Backend, dir: string): Promise<{ log: RoomLog; db: SqlDatabase; group: string; drop(): Promise<void> }> => {
  if (backend === 'embedded') {
    const log = await createEmbeddedLog({ dir: path.join(dir, 'log') });
    const db = await createPgliteDatabase({ dir: path.join(dir, 'db') });
    return { log, db, group: 'projection.rooms', drop: async () => undefined };
  }
  const testServices = inject('strataTestServices');
  const suffix = randomBytes(4).toString('hex');
  const kafka = await createKafkaLog({ brokers: [...testServices.kafkaBrokers], clientId: `strata-sync-test-${suffix}` });
  const topic = `strata-sync-test-${suffix}.room.events`;
  const url = testServices.postgresUrl;
  const schema = `sync_test_${suffix}`;
  const admin = await createPostgresDatabase({ url, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const db = await createPostgresDatabase({ url: `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`, max: 8 });
  return {
    log: renamedTopic(kafka, topic), db, group: `strata-sync-test-${suffix}`,
    drop: async () => {
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
      const kafkaAdmin = kafka.kafka.admin();
      await kafkaAdmin.connect();
      await kafkaAdmin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await kafkaAdmin.disconnect();
    },
  };
};

export const startSyncHarness = async (backend: Backend = 'embedded'): Promise<SyncHarness> => {
  const serverName = 'example.org';
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-sync-e2e-'));
  const { log, db, group, drop } = await openBackend(backend, dir);
  await log.ensureTopic(ROOM_EVENTS_TOPIC, 4);
  const notifier = createInProcessNotifier();
  const accountStore = createMemoryAccountStore();
  const hooks: { rooms?: ReturnType<typeof createRooms>; userData?: UserData } = {};
  const accounts = createAccounts({
    store: accountStore, hasher: createArgon2PasswordHasher({ memory: 1024, passes: 1, parallelism: 1 }), clock: systemClock,
    random: cryptoRandom, serverName, registration: 'open',
    onProfileChanged: (userId, profile) => hooks.rooms?.onProfileChanged(userId, profile),
  });

  await ensureRoomDirectorySchema(db);
  const projection = await startProjection({
    projection: roomsProjection, log, db, group,
    onApplied: (batch) => notifier.notify(roomWakeKeys(batch.entries)),
  });
  await ensureSyncIndexes(db);
  const queries = createRoomQueries(db);
  const directory = createSqlRoomDirectory(db);
  const key = testSigningKey(serverName);
  const writer = createRoomWriter({ log, readModel: queries, projection, keys: { current: () => key }, now: () => Date.now() });
  const rooms = createRooms({ serverName, writer, rooms: queries, directory, clock: systemClock, random: cryptoRandom, profiles: accountStore });
  hooks.rooms = rooms;
  const membership = createSqlRoomMembership(db);
  const userData = createUserData({
    stores: await createSqlUserDataStores(db), notifier, membership, devices: accountStore, clock: systemClock, serverName,
  });
  const sync = createSync({ rooms: queries, sync: createSyncQueries(db), membership, directory, userData, notifier, clock: systemClock });

  const server = await serveTestApp({
    routers: [
      createAccountsRouter({ accounts, rateLimits: { login: null, registration: null } }),
      createRoomsRouter({ rooms, accounts }),
      createUserDataRouter({ userData, accounts, deviceListPositionOf }),
      createSyncRouter({ sync, accounts }),
    ],
  });

  const call = async (method: string, urlPath: string, token?: string, body?: unknown): Promise<Reply> => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${server.url}${urlPath}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: response.status, body: (await response.json()) as Body };
  };
  const ok = async (method: string, urlPath: string, token?: string, body?: unknown): Promise<Body> => {
    const reply = await call(method, urlPath, token, body);
    if (reply.status !== 200) throw new Error(`${method} ${urlPath} → ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body;
  };
  const session = (body: Body): Session => {
    expect(typeof body.access_token).toBe('string');
    return { token: body.access_token as string, userId: body.user_id as string, deviceId: body.device_id as string };
  };
  return {
    server, userData, call, ok,
    register: async (username) => session(await ok('POST', `${V3}/register`, undefined, { username, password: 'pw pw pw', auth: { type: 'm.login.dummy' } })),
    login: async (username, deviceId) => session(await ok('POST', `${V3}/login`, undefined, { type: 'm.login.password', user: username, password: 'pw pw pw', device_id: deviceId })),
    async close() {
      await server.close();
      userData.close();
      await projection.stop();
      await log.close();
      await drop();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
};
