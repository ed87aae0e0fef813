// The analyst API over real HTTP against the real ClickHouse: the warehouse filled by the
// projection from decider-made records (three rooms, a bridge's puppet, a remote server, a room id
// and a type full of commas, quotes and line breaks), every endpoint's numbers checked against a
// fold of the same records in memory, and a 50,000-row warehouse for streamed exports and SQL limits.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAccounts, type AccountStore, type Accounts } from '../../domain/app/accounts/index.ts';
import { BUCKET_MS, createAnalystAccess, createAnalytics, MAX_TIME_MS, NOT_CONFIGURED_MESSAGE, type AnalyticsReadModel } from '../../domain/app/analytics/index.ts';
import { isInterestedInUser, ROOM_EVENTS_TOPIC, type RoomLog, type SqlDatabase } from '../../domain/index.ts';
import { createClickHouse, type ClickHouse } from '../../infra/clickhouse/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { createArgon2PasswordHasher, createSqlAccountStore, cryptoRandom, systemClock } from '../../infra/stores/index.ts';
import {
  ANALYTICS_EVENTS_TABLE, DEFAULT_ANALYST_SQL_LIMITS, analyticsProjection, createClickHouseAnalyticsReadModel, startClickHouseProjection,
} from '../../projections/analytics/index.ts';
import { chIdentifier } from '../../projections/runtime/index.ts';
import {
  BRIDGED_USER, BRIDGE_REGISTRATION, HOSTILE_ROOM_ID, HOSTILE_TYPE, PLAIN_ROOM_ID, SCENARIO_START, TRICKY_ROOM_ID, TRICKY_TYPE,
  analystFacts, appendRoomRecords, buildAnalystScenario, bulkWarehouseRows, expectedActiveUsers, expectedRoomDetail, expectedSeries,
  expectedTop, expectedUserDetail, redactedTargets,
} from '../../test/builders/analytics/index.ts';
import { serveTestApp, type TestApp } from '../../test/harness/index.ts';
import { createAccountsRouter } from '../client/accounts/index.ts';
import { createAnalyticsRouter } from './router.ts';

const { records } = buildAnalystScenario();
const facts = analystFacts(records);
const redacted = redactedTargets(records);
const isBridged = (userId: string) => isInterestedInUser(BRIDGE_REGISTRATION, userId);
const ALL_TIME = { from: 0, to: MAX_TIME_MS + 1 };
const DAY = 86_400_000;
const DAY_START = SCENARIO_START - (SCENARIO_START % DAY);
const BULK_ROWS = 50_000;
const BULK_ROOM = '!bulk:a.test';
const hasher = createArgon2PasswordHasher({ memory: 1024, passes: 2, parallelism: 1 });
const stamp = `${process.pid}_${Date.now()}`;
const database = `strata_analyst_http_${stamp}`;
const bulkDatabase = `strata_analyst_bulk_${stamp}`;

let dir: string;
let db: SqlDatabase;
let log: RoomLog;
let ch: ClickHouse;
let chBulk: ClickHouse;
let store: AccountStore;
let accounts: Accounts;
let server: TestApp;
let bulk: TestApp;
let capped: TestApp;
let tight: TestApp;
let unconfigured: TestApp;
const tokens: Record<'admin' | 'analyst' | 'user', string> = { admin: '', analyst: '', user: '' };

const serve = (readModel: AnalyticsReadModel | null, exportMaxRows?: number) => serveTestApp({
  routers: [
    createAccountsRouter({ accounts, rateLimits: { login: null, registration: null } }),
    createAnalyticsRouter({
      analytics: createAnalytics({
        readModel, access: createAnalystAccess({ users: store, analysts: ['@analyst:a.test'] }), ...(exportMaxRows === undefined ? {} : { exportMaxRows }),
      }),
      accounts,
    }),
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

const qs = (params: Record<string, string | number | undefined>): string => {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined);
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
};

const request = async (target: TestApp, method: string, pathAndQuery: string, token: string | undefined, body?: unknown) =>
  fetch(`${target.url}/_strata/analytics/v1${pathAndQuery}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

const get = async (pathAndQuery: string, token = tokens.analyst, target = server) => {
  const response = await request(target, 'GET', pathAndQuery, token);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

const sql = async (body: unknown, target = server) => {
  const response = await request(target, 'POST', '/sql', tokens.analyst, body);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

/** RFC 4180: quoted fields with doubled quotes and embedded CR/LF; records end in CRLF. */
const parseCsv = (text: string): string[][] => {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' && field === '') {
      const end = (() => {
        let j = i + 1;
        for (;;) {
          const q = text.indexOf('"', j);
          if (text[q + 1] === '"') j = q + 2;
          else return q;
        }
      })();
      field = text.slice(i + 1, end).replaceAll('""', '"');
      i = end + 1;
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else {
      field += c;
      i++;
    }
  }
  expect(field).toBe('');
  return rows;
};

/** The series the API must answer: every bucket present, the biggest groups first. */
const expectedTimeseries = (query: { bucket: 'minute' | 'hour' | 'day'; from: number; to: number; group_by: string; status?: string; room_id?: string; type?: string; limit?: number }) => {
  const size = BUCKET_MS[query.bucket];
  const starts: number[] = [];
  for (let ts = query.from - (query.from % size); ts < query.to; ts += size) starts.push(ts);
  const groups = expectedSeries(facts, {
    bucketMs: size, from: query.from, to: query.to, groupBy: query.group_by,
    ...(query.status === undefined ? {} : { status: query.status }),
    ...(query.room_id === undefined ? {} : { roomId: query.room_id }),
    ...(query.type === undefined ? {} : { type: query.type }),
  });
  const series = [...groups].map(([key, points]) => ({
    key: query.group_by === 'none' ? null : key,
    total: [...points.values()].reduce((a, b) => a + b, 0),
    points: starts.map((ts) => ({ ts, count: points.get(ts) ?? 0 })),
  })).sort((a, b) => b.total - a.total || ((a.key ?? '') < (b.key ?? '') ? -1 : 1));
  if (query.group_by === 'none' && series.length === 0) series.push({ key: null, total: 0, points: starts.map((ts) => ({ ts, count: 0 })) });
  return { bucket: query.bucket, from: query.from, to: query.to, group_by: query.group_by, series: series.slice(0, query.limit ?? 10) };
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-analyst-http-'));
  db = await createPgliteDatabase({ dir: path.join(dir, 'db') });
  store = await createSqlAccountStore(db);
  accounts = createAccounts({ store, hasher, clock: systemClock, random: cryptoRandom, serverName: 'a.test', registration: 'disabled' });
  for (const [name, isAdmin] of [['admin', true], ['analyst', false], ['user', false]] as const) {
    await store.createUser({
      userId: `@${name}:a.test`, passwordHash: await hasher.hash('secret pw'), isGuest: false, isAdmin, createdTs: Date.now(), profile: {},
    });
  }

  log = await createEmbeddedLog({ dir: path.join(dir, 'log') });
  await log.ensureTopic(ROOM_EVENTS_TOPIC, 2);
  await appendRoomRecords(log, records);
  const services = inject('strataTestServices');
  ch = await createClickHouse({ url: services.clickhouseUrl, database });
  const running = await startClickHouseProjection({ projection: analyticsProjection('a.test', [BRIDGE_REGISTRATION]), log, clickhouse: ch });
  for (let p = 0; p < 2; p++) {
    const end = await log.endOffset(ROOM_EVENTS_TOPIC, p);
    if (end > 0) expect(await running.waitFor(p, end - 1, 20_000)).toBe(true);
  }
  await running.stop();

  // The bulk warehouse: rows inserted as the projection would write them, its views rolling them up.
  chBulk = await createClickHouse({ url: services.clickhouseUrl, database: bulkDatabase });
  const emptyLog = await createEmbeddedLog({ dir: path.join(dir, 'empty-log') });
  await emptyLog.ensureTopic(ROOM_EVENTS_TOPIC, 1);
  await (await startClickHouseProjection({ projection: analyticsProjection('a.test', []), log: emptyLog, clickhouse: chBulk })).stop();
  await emptyLog.close();
  await chBulk.insert(ANALYTICS_EVENTS_TABLE, bulkWarehouseRows(BULK_ROOM, Date.UTC(2024, 0, 1), BULK_ROWS));

  server = await serve(createClickHouseAnalyticsReadModel(ch));
  bulk = await serve(createClickHouseAnalyticsReadModel(chBulk));
  capped = await serve(createClickHouseAnalyticsReadModel(chBulk), 30_000);
  tight = await serve(createClickHouseAnalyticsReadModel(chBulk, { sqlLimits: { ...DEFAULT_ANALYST_SQL_LIMITS, maxRowsToRead: 1000 } }));
  unconfigured = await serve(null);
  for (const name of ['admin', 'analyst', 'user'] as const) tokens[name] = await login(name);
}, 120_000);

afterAll(async () => {
  for (const app of [server, bulk, capped, tight, unconfigured]) await app?.close();
  await ch?.exec(`DROP DATABASE IF EXISTS ${chIdentifier(database)}`);
  await chBulk?.exec(`DROP DATABASE IF EXISTS ${chIdentifier(bulkDatabase)}`);
  await ch?.close();
  await chBulk?.close();
  await log?.close();
  await db?.close();
  await rm(dir, { recursive: true, force: true });
});

const ENDPOINTS = [
  '/whoami', '/timeseries?bucket=hour', '/top/rooms', '/active_users', `/rooms/${encodeURIComponent(PLAIN_ROOM_ID)}`,
  `/users/${encodeURIComponent('@alice:a.test')}`, '/export?dataset=events&format=csv', '/events/counts?group_by=type',
  `/rooms/${encodeURIComponent(PLAIN_ROOM_ID)}/activity`,
];

describe('who may read', () => {
  it('answers admins and named analysts, and tells the dashboard whether a warehouse exists', async () => {
    expect(await get('/whoami', tokens.admin)).toEqual({ status: 200, body: { user_id: '@admin:a.test', analyst: true, warehouse: true } });
    expect(await get('/whoami')).toEqual({ status: 200, body: { user_id: '@analyst:a.test', analyst: true, warehouse: true } });
    expect(await get('/whoami', tokens.analyst, unconfigured)).toEqual({ status: 200, body: { user_id: '@analyst:a.test', analyst: true, warehouse: false } });
  });

  it('refuses everyone else on every endpoint before looking at a parameter, and answers 501 without ClickHouse', async () => {
    for (const endpoint of [...ENDPOINTS, '/timeseries?bucket=week', '/top/nothing', '/rooms/bad']) {
      expect(await get(endpoint, tokens.user), endpoint).toEqual({
        status: 403, body: { errcode: 'M_FORBIDDEN', error: 'Analytics are for server admins and analysts' },
      });
      expect((await get(endpoint, 'not-a-token')).body.errcode).toBe('M_UNKNOWN_TOKEN');
    }
    expect((await request(server, 'POST', '/sql', tokens.user, { query: 'SELECT 1' })).status).toBe(403);
    for (const endpoint of ENDPOINTS.slice(1)) {
      expect(await get(endpoint, tokens.admin, unconfigured), endpoint).toEqual({ status: 501, body: { errcode: 'M_UNKNOWN', error: NOT_CONFIGURED_MESSAGE } });
    }
    expect((await request(unconfigured, 'POST', '/sql', tokens.analyst, { query: 'SELECT 1' })).status).toBe(501);
  });
});

describe('GET /timeseries', () => {
  const twoDays = { from: DAY_START, to: DAY_START + 2 * DAY };
  it.each([
    // Whole hours or days: the rollups answer.
    { bucket: 'hour', ...twoDays, group_by: 'none' },
    { bucket: 'hour', ...twoDays, group_by: 'room' },
    { bucket: 'day', ...ALL_TIME, group_by: 'sender', limit: 100, from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 5, 1) },
    { bucket: 'day', from: Date.UTC(2024, 1, 1), to: Date.UTC(2024, 4, 1), group_by: 'server' },
    { bucket: 'day', from: Date.UTC(2024, 1, 1), to: Date.UTC(2024, 4, 1), group_by: 'type', limit: 3 },
    { bucket: 'day', from: Date.UTC(2024, 1, 1), to: Date.UTC(2024, 4, 1), group_by: 'msgtype' },
    { bucket: 'hour', ...twoDays, group_by: 'type', room_id: TRICKY_ROOM_ID, type: TRICKY_TYPE },
    { bucket: 'day', from: Date.UTC(2024, 1, 1), to: Date.UTC(2024, 4, 1), group_by: 'room', status: 'soft_failed' },
    { bucket: 'day', from: Date.UTC(2024, 1, 1), to: Date.UTC(2024, 4, 1), group_by: 'room', status: 'rejected' },
    // Whole hours, day buckets: the hourly rollup folded into days.
    { bucket: 'day', from: DAY_START + 10 * 3_600_000, to: Date.UTC(2024, 3, 2, 1), group_by: 'room' },
    { bucket: 'day', from: DAY_START + 10 * 3_600_000, to: Date.UTC(2024, 3, 2, 1), group_by: 'msgtype', room_id: HOSTILE_ROOM_ID },
    // Anything else: the fact table.
    { bucket: 'hour', from: SCENARIO_START + 30_000, to: DAY_START + 2 * DAY - 1, group_by: 'room' },
    { bucket: 'minute', from: SCENARIO_START, to: SCENARIO_START + 3_600_000, group_by: 'sender', room_id: TRICKY_ROOM_ID },
    { bucket: 'day', from: Date.UTC(2024, 1, 1), to: Date.UTC(2024, 4, 1), group_by: 'sender', room_id: HOSTILE_ROOM_ID },
    { bucket: 'hour', from: Date.UTC(2024, 3, 2), to: Date.UTC(2024, 3, 3), group_by: 'type', type: HOSTILE_TYPE },
    { bucket: 'hour', from: Date.UTC(2030, 0, 1), to: Date.UTC(2030, 0, 2), group_by: 'none' },
  ] as const)('answers %j with every bucket and the biggest groups', async (query) => {
    const reply = await get(`/timeseries${qs(query)}`);
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual(expectedTimeseries(query));
  });

  it('validates every parameter', async () => {
    const cases: [Record<string, string | number>, string][] = [
      [{ from: 0, to: DAY }, 'M_MISSING_PARAM'],
      [{ bucket: 'hour', to: DAY }, 'M_MISSING_PARAM'],
      [{ bucket: 'hour', from: 0 }, 'M_MISSING_PARAM'],
      [{ bucket: 'week', from: 0, to: DAY }, 'M_INVALID_PARAM'],
      [{ bucket: 'minute', from: 0, to: 10_001 * 60_000 }, 'M_INVALID_PARAM'],
      [{ bucket: 'hour', from: DAY, to: DAY }, 'M_INVALID_PARAM'],
      [{ bucket: 'hour', from: 0, to: DAY, group_by: 'channel' }, 'M_INVALID_PARAM'],
      [{ bucket: 'hour', from: 0, to: DAY, limit: 101 }, 'M_INVALID_PARAM'],
      [{ bucket: 'hour', from: 0, to: DAY, room_id: "x' OR 1=1 --" }, 'M_INVALID_PARAM'],
      [{ bucket: 'hour', from: 0, to: DAY, status: 'deleted' }, 'M_INVALID_PARAM'],
    ];
    for (const [query, errcode] of cases) {
      const reply = await get(`/timeseries${qs(query)}`);
      expect({ query, status: reply.status, errcode: reply.body.errcode }).toEqual({ query, status: 400, errcode });
    }
    expect((await get(`/timeseries${qs({ bucket: 'minute', from: 0, to: 10_000 * 60_000 })}`)).status).toBe(200);
  });
});

describe('GET /top/{dimension}', () => {
  it('answers every dimension over whole days (rollups), any range (facts) and one room', async () => {
    for (const dimension of ['rooms', 'senders', 'servers', 'types', 'msgtypes']) {
      for (const range of [ALL_TIME, { from: SCENARIO_START + 1, to: Date.UTC(2024, 3, 2, 0, 10) }, { from: SCENARIO_START + 3_600_000, to: Date.UTC(2024, 3, 2, 1) }, { ...ALL_TIME, room_id: HOSTILE_ROOM_ID }]) {
        const reply = await get(`/top/${dimension}${qs(range)}`);
        expect(reply.status).toBe(200);
        const { room_id: roomId, ...times } = range as { from: number; to: number; room_id?: string };
        expect(reply.body, `${dimension} ${JSON.stringify(range)}`).toEqual({
          dimension, ...times, rows: expectedTop(facts, dimension, { ...times, ...(roomId === undefined ? {} : { roomId }) }).slice(0, 10),
        });
      }
    }
    expect(((await get('/top/types?limit=2')).body.rows as unknown[])).toEqual(expectedTop(facts, 'types', ALL_TIME).slice(0, 2));
    expect((await get('/top/channels')).body.errcode).toBe('M_INVALID_PARAM');
    expect((await get('/top/rooms?limit=1001')).body.errcode).toBe('M_INVALID_PARAM');
    expect((await get('/top/rooms?limit=0')).body.errcode).toBe('M_INVALID_PARAM');
  });
});

describe('GET /active_users', () => {
  it('answers daily and monthly users by origin from the rollups', async () => {
    const expected = expectedActiveUsers(facts, isBridged);
    expect(expected.monthly).toHaveLength(2);
    expect(expected.daily.some((d) => d.bridged > 0) && expected.daily.some((d) => d.federated > 0)).toBe(true);
    expect(await get('/active_users')).toEqual({ status: 200, body: { ...ALL_TIME, ...expected } });
    // Days and months that overlap the range.
    const from = DAY_START + DAY + 5 * 3_600_000;
    const to = Date.UTC(2024, 3, 1);
    expect((await get(`/active_users${qs({ from, to })}`)).body).toEqual({
      from, to, daily: expected.daily.filter((d) => d.ts >= DAY_START + DAY && d.ts < to), monthly: expected.monthly.slice(0, 1),
    });
  });
});

describe('GET /rooms/{roomId} and /users/{userId}', () => {
  it('details a room, whatever its id holds', async () => {
    for (const roomId of [TRICKY_ROOM_ID, PLAIN_ROOM_ID, HOSTILE_ROOM_ID]) {
      for (const range of [ALL_TIME, { from: SCENARIO_START + 5 * 3_600_000, to: Date.UTC(2024, 3, 2, 0, 8) }]) {
        const reply = await get(`/rooms/${encodeURIComponent(roomId)}${qs(range)}`);
        expect(reply.body).toEqual({
          room_id: roomId, room_version: '10', ...range, ...expectedRoomDetail(facts, redacted, roomId, range.from, range.to),
        });
      }
    }
    const tricky = await get(`/rooms/${encodeURIComponent(TRICKY_ROOM_ID)}`);
    expect(tricky.body).toMatchObject({ redacted: 1, senders: 2 });
    expect((await get(`/rooms/${encodeURIComponent(PLAIN_ROOM_ID)}`)).body).toMatchObject({ soft_failed: 1, rejected: 1 });
    const quiet = await get(`/rooms/${encodeURIComponent(PLAIN_ROOM_ID)}${qs({ from: Date.UTC(2030, 0, 1), to: Date.UTC(2030, 0, 2) })}`);
    expect(quiet.body).toMatchObject({ events: 0, first_ts: null, last_ts: null, types: [], top_senders: [] });
    expect(await get(`/rooms/${encodeURIComponent('!nobody:a.test')}`)).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
    expect((await get(`/rooms/${encodeURIComponent('#alias:a.test')}`)).body.errcode).toBe('M_INVALID_PARAM');
  });

  it('details a user', async () => {
    for (const userId of ['@alice:a.test', '@bob:a.test', BRIDGED_USER, '@carol:b.test']) {
      for (const range of [ALL_TIME, { from: SCENARIO_START + 3 * 60_000, to: Date.UTC(2024, 3, 1) }]) {
        const reply = await get(`/users/${encodeURIComponent(userId)}${qs(range)}`);
        expect(reply.body).toEqual({ user_id: userId, ...range, ...expectedUserDetail(facts, userId, range.from, range.to) });
      }
    }
    expect((await get(`/users/${encodeURIComponent('@alice:a.test')}`)).body).toMatchObject({ rooms: 3, active_days: 3 });
    expect(await get(`/users/${encodeURIComponent('@nobody:a.test')}`)).toMatchObject({ status: 404, body: { errcode: 'M_NOT_FOUND' } });
    expect((await get(`/users/${encodeURIComponent('alice')}`)).body.errcode).toBe('M_INVALID_PARAM');
  });
});

describe('GET /export', () => {
  const download = async (query: Record<string, string | number>, target = server) => {
    const response = await request(target, 'GET', `/export${qs(query)}`, tokens.analyst);
    return { response, text: await response.text() };
  };

  it('streams event metadata as CSV that round-trips hostile ids, and as JSON', async () => {
    const { response, text } = await download({ dataset: 'events', format: 'csv' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="strata-events.csv"');
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual([
      'event_id', 'room_id', 'room_version', 'type', 'msgtype', 'is_state', 'membership', 'encrypted', 'relation_type',
      'thread_root', 'content_bytes', 'sender', 'sender_server', 'origin', 'origin_server_ts', 'received_ts', 'status',
    ]);
    expect(rows).toHaveLength(facts.length);
    const column = (name: string) => header!.indexOf(name);
    expect(new Set(rows.map((row) => row[column('room_id')]))).toEqual(new Set([TRICKY_ROOM_ID, PLAIN_ROOM_ID, HOSTILE_ROOM_ID]));
    expect(rows.filter((row) => row[column('type')] === HOSTILE_TYPE)).toHaveLength(2);
    expect(rows.filter((row) => row[column('room_id')] === HOSTILE_ROOM_ID).every((row) => row.length === header!.length)).toBe(true);
    const bridged = rows.find((row) => row[column('type')] === HOSTILE_TYPE)!;
    expect(bridged[column('origin')]).toBe('bridged');
    expect(bridged[column('is_state')]).toBe('false');

    const json = await download({ dataset: 'events', format: 'json', room_id: HOSTILE_ROOM_ID, sender: BRIDGED_USER });
    expect(json.response.headers.get('content-type')).toBe('application/json');
    const events = JSON.parse(json.text) as Record<string, unknown>[];
    expect(events.map((e) => e.type)).toEqual(['m.room.member', HOSTILE_TYPE, HOSTILE_TYPE, 'm.room.message']);
    expect(events[0]).toMatchObject({ is_state: true, membership: 'join' });
    expect(events[3]).toMatchObject({ room_id: HOSTILE_ROOM_ID, msgtype: 'm.notice', sender: BRIDGED_USER, is_state: false, encrypted: false });
    const rejected = JSON.parse((await download({ dataset: 'events', format: 'json', status: 'rejected' })).text) as unknown[];
    expect(rejected).toHaveLength(1);
    expect(JSON.parse((await download({ dataset: 'events', format: 'json', from: Date.UTC(2030, 0, 1) })).text)).toEqual([]);
  });

  it('exports a time series and a top list', async () => {
    const query = { bucket: 'hour', from: DAY_START, to: DAY_START + DAY, group_by: 'room' } as const;
    const [header, ...rows] = parseCsv((await download({ dataset: 'timeseries', format: 'csv', ...query })).text);
    expect(header).toEqual(['key', 'ts', 'count']);
    const expected = expectedTimeseries(query).series.flatMap((s) => s.points.map((p) => [s.key!, String(p.ts), String(p.count)]));
    expect(rows).toEqual(expected);
    const top = JSON.parse((await download({ dataset: 'top', format: 'json', dimension: 'types' })).text) as unknown;
    expect(top).toEqual(expectedTop(facts, 'types', ALL_TIME).slice(0, 10));
  });

  it('streams 50,000 rows, honours limit and the configured cap', async () => {
    const csv = await download({ dataset: 'events', format: 'csv' }, bulk);
    const rows = parseCsv(csv.text);
    expect(rows).toHaveLength(BULK_ROWS + 1);
    expect(new Set(rows.slice(1).map((row) => row[0])).size).toBe(BULK_ROWS);
    const json = JSON.parse((await download({ dataset: 'events', format: 'json' }, bulk)).text) as { event_id: string }[];
    expect(json).toHaveLength(BULK_ROWS);
    expect(json[BULK_ROWS - 1]!.event_id).toBe(`$bulk${BULK_ROWS - 1}`);
    expect(parseCsv((await download({ dataset: 'events', format: 'csv', limit: 123 }, bulk)).text)).toHaveLength(124);
    expect(JSON.parse((await download({ dataset: 'events', format: 'json' }, capped)).text)).toHaveLength(30_000);
    expect((await download({ dataset: 'events', format: 'json', limit: 30_001 }, capped)).response.status).toBe(400);
  });

  it('survives a client that leaves in the middle of a download', async () => {
    const controller = new AbortController();
    const response = await fetch(`${bulk.url}/_strata/analytics/v1/export?dataset=events&format=json`, {
      headers: { authorization: `Bearer ${tokens.analyst}` }, signal: controller.signal,
    });
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    controller.abort();
    await expect(reader.read()).rejects.toThrow();
    // The server and its ClickHouse client carry on.
    expect(JSON.parse((await download({ dataset: 'events', format: 'json', limit: 5 }, bulk)).text)).toHaveLength(5);
  });

  it('validates the dataset, the format and their parameters', async () => {
    for (const [query, errcode] of [
      [{ format: 'csv' }, 'M_MISSING_PARAM'],
      [{ dataset: 'events' }, 'M_MISSING_PARAM'],
      [{ dataset: 'messages', format: 'csv' }, 'M_INVALID_PARAM'],
      [{ dataset: 'events', format: 'xml' }, 'M_INVALID_PARAM'],
      [{ dataset: 'events', format: 'csv', sender: 'alice' }, 'M_INVALID_PARAM'],
      [{ dataset: 'events', format: 'csv', limit: 0 }, 'M_INVALID_PARAM'],
      [{ dataset: 'timeseries', format: 'csv' }, 'M_MISSING_PARAM'],
      [{ dataset: 'top', format: 'csv' }, 'M_MISSING_PARAM'],
      [{ dataset: 'top', format: 'csv', dimension: 'x' }, 'M_INVALID_PARAM'],
    ] as const) {
      const reply = await get(`/export${qs(query)}`);
      expect({ query, status: reply.status, errcode: reply.body.errcode }).toEqual({ query, status: 400, errcode });
    }
  });
});

describe('POST /sql', () => {
  it('answers a SELECT with columns, rows and statistics', async () => {
    const reply = await sql({ query: `SELECT room_id, count() AS n FROM analytics_events FINAL WHERE status = 'accepted' GROUP BY room_id ORDER BY room_id` });
    expect(reply.status).toBe(200);
    const rooms = [HOSTILE_ROOM_ID, PLAIN_ROOM_ID, TRICKY_ROOM_ID].sort();
    expect(reply.body).toMatchObject({
      columns: [{ name: 'room_id', type: 'String' }, { name: 'n', type: 'UInt64' }],
      rows: rooms.map((room) => [room, facts.filter((f) => f.roomId === room && f.status === 'accepted').length]),
      truncated: false,
    });
    const statistics = reply.body.statistics as Record<string, number>;
    expect(statistics.rows_read).toBeGreaterThan(0);
    expect(statistics.bytes_read).toBeGreaterThan(0);
    expect(statistics.elapsed_ms).toBeGreaterThanOrEqual(0);
    expect((await sql({ query: "SELECT 'system.tables; DROP' AS s;" })).body.rows).toEqual([['system.tables; DROP']]);
    const activeUsers = new Set(facts.filter((f) => f.status === 'accepted').map((f) => f.sender)).size;
    expect(activeUsers).toBe(4);
    expect((await sql({ query: 'SELECT uniqExactMerge(users) AS u FROM analytics_active_users_monthly' })).body.rows).toEqual([[activeUsers]]);
  });

  it('cuts a long answer at max_rows', async () => {
    const reply = await sql({ query: 'SELECT event_id FROM analytics_events', max_rows: 2 }, bulk);
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ truncated: true });
    expect(reply.body.rows).toHaveLength(2);
    const all = await sql({ query: 'SELECT event_id FROM analytics_events', max_rows: 10_000 }, bulk);
    expect(all.body).toMatchObject({ truncated: true });
    expect(all.body.rows).toHaveLength(10_000);
  });

  it('refuses what is not one SELECT over the analytics tables, and passes on ClickHouse\'s own refusals', async () => {
    for (const [query, reason] of [
      ['SELECT * FROM system.tables', 'system'],
      ['SELECT name FROM /* hidden */ system . databases', 'system'],
      [`SELECT * FROM ${chIdentifier(bulkDatabase)}.analytics_events`, 'analytics database'],
      ['SELECT * FROM projection_positions', 'not one of the analytics tables'],
      ["SELECT * FROM url('http://127.0.0.1:18123/?query=SELECT%201', CSV, 'a String')", 'url'],
      ["SELECT * FROM file('/etc/passwd', CSV, 'a String')", 'file'],
      ["SELECT * FROM remote('127.0.0.1:9000', system.one)", 'remote'],
      ['SELECT 1 SETTINGS readonly = 0', 'SETTINGS'],
      ['INSERT INTO analytics_events (event_id) VALUES (\'x\')', 'SELECT'],
      ['ALTER TABLE analytics_events DELETE WHERE 1', 'SELECT'],
      ['DROP TABLE analytics_events', 'SELECT'],
      ['CREATE TABLE t (a UInt8) ENGINE = Memory', 'SELECT'],
      ['KILL QUERY WHERE 1', 'SELECT'],
      ['SYSTEM DROP DNS CACHE', 'SELECT'],
      ['OPTIMIZE TABLE analytics_events', 'SELECT'],
      ['SELECT 1; SELECT 2', 'one statement'],
    ]) {
      const reply = await sql({ query });
      expect({ query, status: reply.status, errcode: reply.body.errcode }).toEqual({ query, status: 400, errcode: 'M_INVALID_PARAM' });
      expect(reply.body.error as string).toContain(reason);
    }
    const syntax = await sql({ query: 'SELECT (1 +' });
    expect(syntax).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    expect(syntax.body.error as string).toContain('Syntax error');
    const unknown = await sql({ query: 'SELECT no_such_column FROM analytics_events' });
    expect(unknown).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    expect(unknown.body.error as string).toContain('no_such_column');
    const limit = await sql({ query: 'SELECT count() FROM analytics_events' }, tight);
    expect(limit).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    expect(limit.body.error as string).toMatch(/[Ll]imit for rows/);
  });

  it('validates the body', async () => {
    expect((await sql({ query: `SELECT 1 -- ${'x'.repeat(20_000)}` })).body.errcode).toBe('M_INVALID_PARAM');
    expect((await request(server, 'POST', '/sql', tokens.analyst, { query: 'x'.repeat(300_000) })).status).toBe(413);
    expect((await sql([])).body.errcode).toBe('M_BAD_JSON');
    expect((await sql({})).body.errcode).toBe('M_MISSING_PARAM');
    expect((await sql({ query: 5 })).body.errcode).toBe('M_BAD_JSON');
    expect((await sql({ query: ' ' })).body.errcode).toBe('M_INVALID_PARAM');
    expect((await sql({ query: 'SELECT 1', max_rows: 0 })).body.errcode).toBe('M_INVALID_PARAM');
    expect((await sql({ query: 'SELECT 1', max_rows: 10_001 })).body.errcode).toBe('M_INVALID_PARAM');
    expect((await sql('{"query": ')).body.errcode).toBe('M_NOT_JSON');
  });
});
