/**
 * Test harness for the per-user data routes: the accounts routes (in-memory account store) and
 * ours (SQL stores on a fresh PGlite) on one app from createHttpApp, over real HTTP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { createAccounts, createMemoryAccountStore } from '../../../domain/app/accounts/index.ts';
import { createInProcessNotifier, createUserData, type Notifier, type RoomMembership, type UserData } from '../../../domain/app/userData/index.ts';
import type { SqlDatabase } from '../../../domain/index.ts';
import { createPgliteDatabase } from '../../../infra/pglite/index.ts';
import { createArgon2PasswordHasher, cryptoRandom, systemClock } from '../../../infra/stores/index.ts';
import { createSqlUserDataStores } from '../../../infra/userData/index.ts';
import { serveTestApp, type TestServer } from '../../http/testing.ts';
import { createAccountsRouter } from '../accounts/index.ts';
import { createUserDataRouter } from './router.ts';

export const V3 = '/_matrix/client/v3';

/** Room membership as the rooms layer will answer it, set directly by the tests. */
export const createTestMembership = (): RoomMembership & { join(roomId: string, userId: string): void } => {
  const members = new Map<string, Set<string>>();
  return {
    join(roomId, userId) {
      if (!members.has(roomId)) members.set(roomId, new Set());
      members.get(roomId)!.add(userId);
    },
    isJoined: async (roomId, userId) => members.get(roomId)?.has(userId) ?? false,
    usersSharingRoomsWith: async (userId) => {
      const users = new Set([userId]);
      for (const room of members.values()) if (room.has(userId)) for (const member of room) users.add(member);
      return users;
    },
  };
};

export interface Harness {
  readonly server: TestServer;
  readonly userData: UserData;
  readonly notifier: Notifier;
  readonly membership: ReturnType<typeof createTestMembership>;
  call(method: string, urlPath: string, body?: unknown, token?: string): Promise<Reply>;
  /** Registers a user; returns its token, user id and device id. */
  register(username: string): Promise<Session>;
  login(username: string, deviceId: string): Promise<Session>;
  close(): Promise<void>;
}

export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export interface Session {
  readonly token: string;
  readonly userId: string;
  readonly deviceId: string;
}

export const startHarness = async (): Promise<Harness> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-userdata-e2e-'));
  const db: SqlDatabase = await createPgliteDatabase({ dir });
  const accountStore = createMemoryAccountStore();
  const accounts = createAccounts({
    store: accountStore,
    hasher: createArgon2PasswordHasher({ memory: 1024, passes: 2, parallelism: 1 }),
    clock: systemClock,
    random: cryptoRandom,
    serverName: 'example.org',
    registration: 'open',
  });
  const notifier = createInProcessNotifier();
  const membership = createTestMembership();
  const userData = createUserData({
    stores: await createSqlUserDataStores(db),
    notifier,
    membership,
    devices: accountStore,
    clock: systemClock,
    serverName: 'example.org',
  });
  const server = await serveTestApp({
    routers: [
      createAccountsRouter({ accounts, rateLimits: { login: null, registration: null } }),
      createUserDataRouter({ userData, accounts }),
    ],
  });
  const call = async (method: string, urlPath: string, body?: unknown, token?: string): Promise<Reply> => {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const response = await fetch(`${server.url}${urlPath}`, {
      method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const session = (reply: Reply): Session => {
    expect(reply.status).toBe(200);
    return { token: reply.body.access_token as string, userId: reply.body.user_id as string, deviceId: reply.body.device_id as string };
  };
  return {
    server, userData, notifier, membership, call,
    register: async (username) =>
      session(await call('POST', `${V3}/register`, { username, password: 'secret pw', auth: { type: 'm.login.dummy' } })),
    login: async (username, deviceId) =>
      session(await call('POST', `${V3}/login`, { type: 'm.login.password', user: username, password: 'secret pw', device_id: deviceId })),
    async close() {
      userData.close();
      await server.close();
      await db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
};
