// The analytics API over real HTTP: accounts in PGlite, the metadata view in the real ClickHouse
// filled by the projection from decider-made records, an admin and a non-admin user.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAccounts, type AccountStore, type Accounts } from '../../domain/app/accounts/index.ts';
import { createAnalystAccess, createAnalytics, MAX_TIME_MS, NOT_CONFIGURED_MESSAGE, type AnalyticsReadModel } from '../../domain/app/analytics/index.ts';
import { ROOM_EVENTS_TOPIC, type RoomLog, type SqlDatabase } from '../../domain/index.ts';
import { createClickHouse, type ClickHouse } from '../../infra/clickhouse/index.ts';
import { chIdentifier } from '../../projections/runtime/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { createArgon2PasswordHasher, createSqlAccountStore, cryptoRandom, systemClock } from '../../infra/stores/index.ts';
import { analyticsProjection, createClickHouseAnalyticsReadModel, startClickHouseProjection } from '../../projections/analytics/index.ts';
import {
  PLAIN_ROOM_ID, TRICKY_ROOM_ID, TRICKY_TYPE, appendRoomRecords, buildScenario, byKey, expectedActivity, expectedCounts,
} from '../../test/builders/analytics/index.ts';
import { createAccountsRouter } from '../client/accounts/index.ts';
import { serveTestApp, type TestApp } from '../../test/harness/index.ts';
import { createAnalyticsRouter } from './router.ts';

const scenario = buildScenario();
const ALL_TIME = { from: 0, to: MAX_TIME_MS + 1 };
const hasher = createArgon2PasswordHasher({ memory: 1024, passes: 2, parallelism: 1 });
const database = `strata_analytics_http_${process.pid}_${Date.now()}`;

let dir: string;
let db: SqlDatabase;
let log: RoomLog;
let ch: ClickHouse;
let store: AccountStore;
let accounts: Accounts;
let server: TestApp;
let unconfigured: TestApp;
let adminToken: string;
let userToken: string;

const serve = (readModel: AnalyticsReadModel | null) => serveTestApp({
  routers: [
    createAccountsRouter({ accounts, rateLimits: { login: null, registration: null } }),
    createAnalyticsRouter({ analytics: createAnalytics({ readModel, access: createAnalystAccess({ users: store, analysts: [] }) }), accounts }),
  ],
});

const login = async (user: string): Promise<string> => {
  const response = await fetch(`${server.url}/_matrix/client/v3/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user }, password: 'secret pw' }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
};

const get = async (target: TestApp, pathAndQuery: string, token?: string) => {
  const response = await fetch(`${target.url}/_strata/analytics/v1${pathAndQuery}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const qs = (params: Record<string, string | number>): string =>
  `?${new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
const counts = (params: Record<string, string | number>): string => `/events/counts${qs(params)}`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-analytics-http-'));
  db = await createPgliteDatabase({ dir: path.join(dir, 'db') });
  store = await createSqlAccountStore(db);
  accounts = createAccounts({ store, hasher, clock: systemClock, random: cryptoRandom, serverName: 'a.test', registration: 'disabled' });
  for (const [name, isAdmin] of [['admin', true], ['user', false]] as const) {
    await store.createUser({
      userId: `@${name}:a.test`, passwordHash: await hasher.hash('secret pw'), isGuest: false, isAdmin, createdTs: Date.now(), profile: {},
    });
  }

  log = await createEmbeddedLog({ dir: path.join(dir, 'log') });
  await log.ensureTopic(ROOM_EVENTS_TOPIC, 2);
  await appendRoomRecords(log, scenario.records);
  ch = await createClickHouse({ url: inject('strataTestServices').clickhouseUrl, database });
  const running = await startClickHouseProjection({ projection: analyticsProjection('a.test', []), log, clickhouse: ch });
  for (let p = 0; p < 2; p++) {
    const end = await log.endOffset(ROOM_EVENTS_TOPIC, p);
    if (end > 0) expect(await running.waitFor(p, end - 1, 20_000)).toBe(true);
  }
  await running.stop();

  server = await serve(createClickHouseAnalyticsReadModel(ch));
  unconfigured = await serve(null);
  adminToken = await login('admin');
  userToken = await login('user');
});
afterAll(async () => {
  await server?.close();
  await unconfigured?.close();
  await ch?.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
  await ch?.close();
  await log?.close();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('GET /_strata/analytics/v1/events/counts', () => {
  it('answers an admin with exact counts for every grouping', async () => {
    for (const groupBy of ['type', 'sender', 'room', 'server', 'hour', 'day'] as const) {
      const reply = await get(server, counts({ group_by: groupBy }), adminToken);
      expect(reply.status).toBe(200);
      const expected = expectedCounts(scenario.records, { groupBy, status: 'accepted', ...ALL_TIME, limit: 1000 });
      expect(reply.body).toMatchObject({ group_by: groupBy, status: 'accepted', ...ALL_TIME });
      expect(byKey(reply.body.rows as { key: string | number }[])).toEqual(byKey(expected));
    }
    const rejected = await get(server, counts({ group_by: 'room', status: 'rejected' }), adminToken);
    expect(rejected.body.rows).toEqual([{ key: PLAIN_ROOM_ID, count: 1, redacted: 0 }]);
  });

  it('filters by a room id and a type full of quotes and backslashes, and honours limit', async () => {
    const reply = await get(server, counts({ group_by: 'sender', room_id: TRICKY_ROOM_ID, type: TRICKY_TYPE }), adminToken);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ room_id: TRICKY_ROOM_ID, type: TRICKY_TYPE, rows: [{ key: '@bob:a.test', count: 1, redacted: 0 }] });
    const limited = await get(server, counts({ group_by: 'type', limit: 2 }), adminToken);
    expect(limited.body.rows).toEqual([
      { key: 'm.room.message', count: 9, redacted: 1 },
      { key: 'm.room.member', count: 5, redacted: 0 },
    ]);
  });

  it('refuses non-admins and anonymous callers', async () => {
    expect(await get(server, counts({ group_by: 'type' }), userToken))
      .toEqual({ status: 403, body: { errcode: 'M_FORBIDDEN', error: 'Analytics are for server admins and analysts' } });
    expect((await get(server, counts({ group_by: 'type' }))).body.errcode).toBe('M_MISSING_TOKEN');
    expect((await get(server, counts({ group_by: 'type' }), 'not-a-token')).body.errcode).toBe('M_UNKNOWN_TOKEN');
  });

  it('validates every parameter', async () => {
    const cases: [string, string][] = [
      ['', 'M_MISSING_PARAM'],
      [qs({ group_by: 'week' }), 'M_INVALID_PARAM'],
      ['?group_by=type&group_by=room', 'M_INVALID_PARAM'],
      [qs({ group_by: 'type', from: 'yesterday' }), 'M_INVALID_PARAM'],
      [qs({ group_by: 'type', from: -5 }), 'M_INVALID_PARAM'],
      [qs({ group_by: 'type', from: 10, to: 10 }), 'M_INVALID_PARAM'],
      [qs({ group_by: 'type', to: MAX_TIME_MS + 2 }), 'M_INVALID_PARAM'],
      [qs({ group_by: 'type', limit: 0 }), 'M_INVALID_PARAM'],
      [qs({ group_by: 'type', limit: 1001 }), 'M_INVALID_PARAM'],
      [qs({ group_by: 'type', limit: '1.5' }), 'M_INVALID_PARAM'],
      [qs({ group_by: 'type', room_id: "plain' OR 1=1" }), 'M_INVALID_PARAM'],
      [qs({ group_by: 'type', type: '' }), 'M_INVALID_PARAM'],
      [qs({ group_by: 'type', type: 'x'.repeat(256) }), 'M_INVALID_PARAM'],
      [qs({ group_by: 'type', status: 'deleted' }), 'M_INVALID_PARAM'],
    ];
    for (const [query, errcode] of cases) {
      const reply = await get(server, `/events/counts${query}`, adminToken);
      expect({ query, status: reply.status, errcode: reply.body.errcode }).toEqual({ query, status: 400, errcode });
    }
  });
});

describe('GET /_strata/analytics/v1/rooms/{roomId}/activity', () => {
  it('answers per hour and per day for a room id that needs escaping', async () => {
    for (const roomId of [TRICKY_ROOM_ID, PLAIN_ROOM_ID]) {
      for (const bucket of ['hour', 'day'] as const) {
        const reply = await get(server, `/rooms/${encodeURIComponent(roomId)}/activity${qs({ bucket })}`, adminToken);
        expect(reply.status).toBe(200);
        const expected = expectedActivity(scenario.records, { roomId, bucket, ...ALL_TIME, limit: 10_000 });
        expect(reply.body).toEqual({
          room_id: roomId, bucket, ...ALL_TIME,
          rows: expected.map((row) => ({
            ts: row.ts, events: row.events, state_events: row.stateEvents, senders: row.senders,
            soft_failed: row.softFailed, rejected: row.rejected, redacted: row.redacted,
          })),
        });
      }
    }
  });

  it('refuses non-admins and validates the room id and bucket', async () => {
    const path = `/rooms/${encodeURIComponent(PLAIN_ROOM_ID)}/activity`;
    expect((await get(server, path, userToken)).status).toBe(403);
    expect((await get(server, `${path}?bucket=week`, adminToken)).body.errcode).toBe('M_INVALID_PARAM');
    expect((await get(server, `/rooms/${encodeURIComponent('no-sigil')}/activity`, adminToken)).body.errcode).toBe('M_INVALID_PARAM');
    const empty = await get(server, `/rooms/${encodeURIComponent('!nobody:a.test')}/activity`, adminToken);
    expect(empty).toMatchObject({ status: 200, body: { rows: [] } });
  });
});

describe('without ClickHouse configured', () => {
  it('answers admins 501 with a message naming the setting, and others 403', async () => {
    const expected = { status: 501, body: { errcode: 'M_UNKNOWN', error: NOT_CONFIGURED_MESSAGE } };
    expect(await get(unconfigured, counts({ group_by: 'type' }), adminToken)).toEqual(expected);
    expect(await get(unconfigured, `/rooms/${encodeURIComponent(PLAIN_ROOM_ID)}/activity`, adminToken)).toEqual(expected);
    expect(NOT_CONFIGURED_MESSAGE).toContain('STRATA_CLICKHOUSE_URL');
    expect((await get(unconfigured, '/events/counts?group_by=type', userToken)).status).toBe(403);
  });
});
