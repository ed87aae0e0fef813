// Hostile values wherever a client chooses one: over-long identifiers, lone surrogates, deep nesting,
// numbers JSON or canonical JSON cannot carry, over-long member names. Each is refused with a 4xx
// Matrix error before anything reaches the log or a store, and afterwards every room still takes
// writes and /sync still shows them (one unstorable record would stop its whole partition).
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '../../domain/index.ts';
import { MatrixClient, e, startTestServer, timelineOf, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';
import { roomOnEveryPartition } from './partitionCanaries.ts';

/** Random (incompressible, so a btree cannot squeeze it under its row limit) URL-safe text. */
const random = (length: number): string => randomBytes(Math.ceil((length * 3) / 4)).toString('base64url').slice(0, length);
const LONG = random(3_000);
/** Just past the 255-byte bound, in multi-byte characters (256 bytes, 128 characters). */
const LONG_UTF8 = 'é'.repeat(128);
const deep = (levels: number, inner = '1'): string => `${'{"a":'.repeat(levels)}${inner}${'}'.repeat(levels)}`;
const deepArray = (levels: number): string => `${'['.repeat(levels)}${']'.repeat(levels)}`;

/** Hostile JSON bodies, as raw text (JSON.stringify cannot write a lone surrogate escape or 1e400). */
const HOSTILE_BODIES: Readonly<Record<string, string>> = {
  'lone surrogate value': '{"body":"\\ud800","msgtype":"m.text"}',
  'lone surrogate key': '{"\\udc00":"x","body":"x","msgtype":"m.text"}',
  'nesting 200 deep': `{"body":"x","msgtype":"m.text","n":${deep(200)}}`,
  'nesting 6,000 deep': `{"body":"x","msgtype":"m.text","n":${deepArray(6_000)}}`,
  'nesting 30,000 deep': `{"body":"x","msgtype":"m.text","n":${deepArray(30_000)}}`,
  '1e400': '{"body":"x","msgtype":"m.text","n":1e400}',
  'member name 3,000 long': `{"body":"x","msgtype":"m.text","${LONG}":1}`,
};

interface Case {
  readonly name: string;
  readonly method: string;
  readonly path: string;
  readonly raw?: string;
  readonly json?: unknown;
  /** The errcode the spec names for this case, where it names one. */
  readonly errcode?: string;
}

describe.each<ServerMode>(['embedded', 'distributed'])('hostile input (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  let roomId: string;
  let eventId: string;
  let version: string;
  /** Bob's rooms, one on each partition of the room log. */
  const canaries: string[] = [];

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
    roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${e(roomId)}`);
    eventId = await alice.send(roomId, 'target');
    canaries.push(...await roomOnEveryPartition(bob));
    version = (await alice.post('/room_keys/version', { algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2', auth_data: { public_key: 'abc' } })).version as string;
  });
  afterAll(() => server?.stop());

  /** Sends every case; answers those not refused with a 4xx carrying a Matrix errcode (this one, if given). */
  const unrefused = async (cases: readonly Case[], only?: string): Promise<string[]> => {
    const wrong: string[] = [];
    for (const c of cases) {
      const body = c.raw !== undefined ? { raw: c.raw } : c.method === 'GET' ? {} : { json: c.json ?? {} };
      const reply = await alice.request(c.method, c.path, body);
      const errcode = reply.body.errcode;
      if (reply.status < 400 || reply.status >= 500 || typeof errcode !== 'string' || !errcode.startsWith('M_') || ((c.errcode ?? only) !== undefined && errcode !== (c.errcode ?? only))) {
        wrong.push(`${c.name}: ${c.method} ${c.path.slice(0, 120)} → ${reply.status} ${JSON.stringify(reply.body).slice(0, 200)}`);
      }
    }
    return wrong;
  };

  /** Endpoints taking a client-chosen JSON body. */
  const bodyEndpoints = (): readonly Omit<Case, 'name'>[] => {
    const me = e(alice.userId);
    const room = e(roomId);
    return [
      { method: 'PUT', path: `/rooms/${room}/send/m.room.message/${random(10)}` },
      { method: 'PUT', path: `/rooms/${room}/state/org.example.hostile/${random(5)}` },
      { method: 'PUT', path: `/rooms/${room}/redact/${e(eventId)}/${random(10)}` },
      { method: 'PUT', path: `/user/${me}/account_data/org.example.hostile` },
      { method: 'PUT', path: `/user/${me}/rooms/${room}/account_data/org.example.hostile` },
      { method: 'PUT', path: `/user/${me}/rooms/${room}/tags/u.hostile` },
      { method: 'POST', path: `/user/${me}/filter` },
      { method: 'PUT', path: `/profile/${me}/displayname` },
      { method: 'PUT', path: `/profile/${me}/org.example.field` },
      { method: 'PUT', path: `/sendToDevice/org.example.hostile/${random(10)}` },
      { method: 'POST', path: '/keys/upload' },
      { method: 'POST', path: '/keys/signatures/upload' },
      { method: 'POST', path: '/keys/device_signing/upload' },
      { method: 'PUT', path: `/room_keys/keys/${room}/${random(10)}?version=${version}` },
      { method: 'PUT', path: `/room_keys/version/${version}` },
      { method: 'PUT', path: '/pushrules/global/override/org.example.hostile' },
      { method: 'PUT', path: '/pushrules/global/override/.m.rule.master/actions' },
      { method: 'POST', path: '/pushers/set' },
      { method: 'PUT', path: `/devices/${e(alice.session.deviceId)}` },
      { method: 'POST', path: '/createRoom' },
      { method: 'PUT', path: `/directory/room/${e(`#hostile${random(6)}:${server.serverName}`)}` },
      { method: 'PUT', path: `/directory/list/room/${room}` },
      { method: 'POST', path: `/rooms/${room}/receipt/m.read/${e(eventId)}` },
      { method: 'PUT', path: `/rooms/${room}/typing/${me}` },
      { method: 'POST', path: `/rooms/${room}/read_markers` },
      { method: 'POST', path: `/rooms/${room}/report/${e(eventId)}` },
      { method: 'POST', path: `/rooms/${room}/report` },
      { method: 'POST', path: `/users/${me}/report` },
      { method: 'POST', path: `/rooms/${room}/invite` },
      { method: 'POST', path: '/user_directory/search' },
    ];
  };

  it.each(Object.keys(HOSTILE_BODIES))('refuses a body with %s at every endpoint taking JSON', async (kind) => {
    const cases = bodyEndpoints().map((endpoint) => ({ ...endpoint, name: kind, raw: HOSTILE_BODIES[kind] }));
    // One body parser refuses them all, whatever the endpoint would make of the body.
    expect(await unrefused(cases, 'M_BAD_JSON')).toEqual([]);
  });

  it('refuses a filter given inline in a query that a body could not carry', async () => {
    for (const filter of [`{"room":{"timeline":{"types":["\\ud800"]}}}`, `{"x":${deepArray(200)}}`, '{"room":{"timeline":{"limit":1e400}}}']) {
      await alice.fails('GET', '/sync', { status: 400, errcode: 'M_BAD_JSON' }, { query: { filter } });
    }
  });

  it('answers huge and odd numbers in limits, timeouts and stored filters without a server error', async () => {
    const room = e(roomId);
    const huge = ['1e300', '9007199254740993', '-1', '1.5', '99999999999999999999'];
    const outcomes: string[] = [];
    const check = async (method: string, path: string, options: { json?: unknown; raw?: string; query?: Record<string, string> } = {}) => {
      const reply = await alice.request(method, path, options);
      if (reply.status >= 500) outcomes.push(`${method} ${path} ${JSON.stringify(options).slice(0, 80)} → ${reply.status}`);
    };
    for (const n of huge) {
      const filterId = (await alice.request('POST', `/user/${e(alice.userId)}/filter`, { raw: `{"room":{"timeline":{"limit":${n}},"state":{"limit":${n}}},"presence":{"limit":${n}}}` })).body.filter_id as string | undefined;
      if (filterId !== undefined) await check('GET', '/sync', { query: { filter: filterId } });
      await check('GET', '/sync', { query: { filter: `{"room":{"timeline":{"limit":${n}}}}`, timeout: n } });
      await check('GET', `/rooms/${room}/messages`, { query: { dir: 'b', limit: n, filter: `{"limit":${n}}` } });
      await check('GET', `/rooms/${room}/context/${e(eventId)}`, { query: { limit: n } });
      await check('GET', '/notifications', { query: { limit: n } });
      await check('GET', `/_matrix/client/v1/rooms/${room}/relations/${e(eventId)}`, { query: { limit: n } });
      await check('GET', `/_matrix/client/v1/rooms/${room}/hierarchy`, { query: { limit: n, max_depth: n } });
      await check('POST', '/publicRooms', { raw: `{"limit":${n}}` });
      await check('GET', '/publicRooms', { query: { limit: n } });
      await check('POST', '/user_directory/search', { raw: `{"search_term":"a","limit":${n}}` });
      await check('PUT', `/rooms/${room}/typing/${e(alice.userId)}`, { raw: `{"typing":true,"timeout":${n}}` });
      await check('POST', '/keys/claim', { raw: `{"one_time_keys":{},"timeout":${n}}` });
      await check('POST', '/keys/query', { raw: `{"device_keys":{},"timeout":${n}}` });
      await check('POST', `/rooms/${room}/report/${e(eventId)}`, { raw: `{"reason":"x","score":${n}}` });
      await check('PUT', `/user/${e(alice.userId)}/rooms/${room}/tags/u.n`, { raw: `{"order":${n}}` });
      await check('GET', `/user/${e(alice.userId)}/rooms/${room}/tags`);
    }
    expect(outcomes).toEqual([]);
  });

  // Sizes: each batch is far past what one statement's parameters could carry (PostgreSQL takes 65,535),
  // yet small enough to run in seconds (large key queries and backups cost about 2 ms an entry).
  it('answers large batches without a server error', async () => {
    const room = e(roomId);
    const many = (count: number, entry: (i: number) => [string, unknown]) => Object.fromEntries(Array.from({ length: count }, (_, i) => entry(i)));
    const outcomes: string[] = [];
    const check = async (name: string, method: string, path: string, json: unknown) => {
      const reply = await alice.request(method, path, { json });
      if (reply.status >= 500) outcomes.push(`${name} → ${reply.status} ${JSON.stringify(reply.body).slice(0, 120)}`);
    };
    await check('one-time keys', 'POST', '/keys/upload', { one_time_keys: many(15_000, (i) => [`signed_curve25519:K${i}`, { key: `k${i}`, signatures: {} }]) });
    await check('key claims', 'POST', '/keys/claim', { one_time_keys: { [alice.userId]: many(4_000, (i) => [`D${i}`, 'signed_curve25519']) } });
    await check('key queries', 'POST', '/keys/query', { device_keys: many(4_000, (i) => [`@u${i}:${server.serverName}`, []]) });
    await check('to-device fan-out', 'PUT', `/sendToDevice/m.x/${random(10)}`, { messages: { [alice.userId]: many(LIMITS.toDeviceMessages, (i) => [`D${i}`, {}]) } });
    await check('to-device users', 'PUT', `/sendToDevice/m.x/${random(10)}`, { messages: many(10_000, (i) => [`@u${i}:${server.serverName}`, { '*': {} }]) });
    await check('signatures', 'POST', '/keys/signatures/upload', { [alice.userId]: many(LIMITS.signedObjectsPerUpload, (i) => [`K${i}`, { user_id: alice.userId, device_id: `K${i}`, keys: {}, signatures: {} }]) });
    const session = { first_message_index: 0, forwarded_count: 0, is_verified: false, session_data: {} };
    await check('backup sessions', 'PUT', `/room_keys/keys?version=${version}`, { rooms: { [roomId]: { sessions: many(LIMITS.roomKeysPerUpload, (i) => [`S${i}`, session]) } } });
    await check('backup rooms', 'PUT', `/room_keys/keys?version=${version}`, { rooms: many(5_000, (i) => [`!r${i}:${server.serverName}`, { sessions: { s: session } }]) });
    await check('read receipts of many threads', 'POST', `/rooms/${room}/read_markers`, { 'm.fully_read': eventId, 'm.read': eventId, 'm.read.private': eventId });
    await check('tags', 'PUT', `/user/${e(alice.userId)}/rooms/${room}/tags/u.many`, { order: 0.5, pad: many(2_000, (i) => [`p${i}`, i]) });
    await check('filter', 'POST', `/user/${e(alice.userId)}/filter`, { room: { rooms: Array.from({ length: LIMITS.filterListEntries }, (_, i) => `!r${i}:${server.serverName}`) } });
    await check('invite list', 'POST', '/createRoom', { invite: Array.from({ length: 300 }, (_, i) => `@u${i}:${server.serverName}`) });
    await check('delete devices', 'POST', '/delete_devices', { devices: Array.from({ length: 6_000 }, (_, i) => `D${i}`) });
    expect(outcomes).toEqual([]);
  });

  // One request naming more entries than its bound (domain/limits.ts) is refused before any store
  // work, so it answers at once rather than tying the server up for seconds.
  it('refuses requests naming more entries than their bound, in bounded time', async () => {
    const room = e(roomId);
    const many = (count: number, entry: (i: number) => [string, unknown]) => Object.fromEntries(Array.from({ length: count }, (_, i) => entry(i)));
    const session = { first_message_index: 0, forwarded_count: 0, is_verified: false, session_data: {} };
    const local = (i: number) => `@u${i}:${server.serverName}`;
    const cases: (Case & { status: number })[] = [
      { name: 'key queries (users)', method: 'POST', path: '/keys/query', json: { device_keys: many(LIMITS.keysQueryEntries + 1, (i) => [local(i), []]) }, errcode: 'M_TOO_LARGE', status: 413 },
      { name: 'key queries (devices)', method: 'POST', path: '/keys/query', json: { device_keys: { [alice.userId]: Array.from({ length: LIMITS.keysQueryEntries }, (_, i) => `D${i}`) } }, errcode: 'M_TOO_LARGE', status: 413 },
      { name: 'key claims', method: 'POST', path: '/keys/claim', json: { one_time_keys: many(LIMITS.keysClaimEntries + 1, (i) => [local(i), { D: 'signed_curve25519' }]) }, errcode: 'M_TOO_LARGE', status: 413 },
      { name: 'to-device messages', method: 'PUT', path: `/sendToDevice/m.x/${random(10)}`, json: { messages: many(LIMITS.toDeviceMessages + 1, (i) => [local(i), { '*': {} }]) }, errcode: 'M_TOO_LARGE', status: 413 },
      { name: 'backup sessions', method: 'PUT', path: `/room_keys/keys?version=${version}`, json: { rooms: many(LIMITS.roomKeysPerUpload + 1, (i) => [`!r${i}:${server.serverName}`, { sessions: { s: session } }]) }, errcode: 'M_TOO_LARGE', status: 413 },
      { name: 'backup sessions of one room', method: 'PUT', path: `/room_keys/keys/${room}?version=${version}`, json: { sessions: many(LIMITS.roomKeysPerUpload + 1, (i) => [`S${i}`, session]) }, errcode: 'M_TOO_LARGE', status: 413 },
      { name: 'signed objects', method: 'POST', path: '/keys/signatures/upload', json: many(LIMITS.signedObjectsPerUpload + 1, (i) => [local(i), { K: { user_id: local(i), keys: {}, signatures: {} } }]), errcode: 'M_TOO_LARGE', status: 413 },
      { name: 'push rule conditions', method: 'PUT', path: '/pushrules/global/override/many', json: { conditions: Array.from({ length: LIMITS.pushRuleConditions + 1 }, () => ({ kind: 'event_match', key: 'content.body', pattern: 'x' })), actions: ['notify'] }, errcode: 'M_TOO_LARGE', status: 413 },
      { name: 'filter rooms', method: 'POST', path: `/user/${e(alice.userId)}/filter`, json: { room: { rooms: Array.from({ length: LIMITS.filterListEntries + 1 }, (_, i) => `!r${i}:x`) } }, errcode: 'M_BAD_JSON', status: 400 },
      { name: 'filter not_rooms', method: 'POST', path: `/user/${e(alice.userId)}/filter`, json: { room: { timeline: { not_rooms: Array.from({ length: LIMITS.filterListEntries + 1 }, (_, i) => `!r${i}:x`) } } }, errcode: 'M_BAD_JSON', status: 400 },
      { name: 'filter types', method: 'POST', path: `/user/${e(alice.userId)}/filter`, json: { room: { timeline: { types: Array.from({ length: LIMITS.filterListEntries + 1 }, () => '*a*') } } }, errcode: 'M_BAD_JSON', status: 400 },
    ];
    const backedUp = (await alice.get('/room_keys/version')).count;
    const wrong: string[] = [];
    for (const c of cases) {
      const started = Date.now();
      const reply = await alice.request(c.method, c.path, { json: c.json });
      const took = Date.now() - started;
      if (reply.status !== c.status || reply.body.errcode !== c.errcode || took > 1_500) {
        wrong.push(`${c.name} → ${reply.status} ${JSON.stringify(reply.body).slice(0, 160)} in ${took} ms`);
      }
    }
    expect(wrong).toEqual([]);
    // An inline filter (in the query string) is bounded the same way.
    const notRooms = Array.from({ length: LIMITS.filterListEntries + 1 }, () => '');
    await alice.fails('GET', '/sync', { status: 400, errcode: 'M_BAD_JSON' }, { query: { filter: JSON.stringify({ room: { not_rooms: notRooms } }), timeout: '0' } });
    // Nothing of the refused requests was stored, and the server still answers.
    expect((await alice.get('/room_keys/version')).count).toBe(backedUp);
    expect((await alice.get('/account/whoami')).user_id).toBe(alice.userId);
  });

  // A request at its bound takes seconds (in the embedded mode the store answers in this very
  // thread, as does this test's server); requests sent meanwhile are served, not queued behind it.
  it('serves other requests while one names as many entries as its bound allows', async () => {
    const users = Object.fromEntries(Array.from({ length: LIMITS.keysQueryEntries - 1 }, (_, i) => [`@q${i}:${server.serverName}`, []]));
    const big = alice.request('POST', '/keys/query', { json: { device_keys: { ...users, [bob.userId]: [] } } });
    let bigDone = false;
    void big.then(() => { bigDone = true; });
    // Were the server's thread held, this timer too would fire only once the big request is done.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const servedMeanwhile: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      expect((await bob.get('/account/whoami')).user_id).toBe(bob.userId);
      servedMeanwhile.push(!bigDone);
    }
    expect(servedMeanwhile).toEqual([true, true, true]);
    const reply = await big;
    expect(reply.status).toBe(200);
    expect(Object.keys(reply.body.device_keys as object)).toHaveLength(LIMITS.keysQueryEntries);
  });

  it('clamps huge page sizes and refuses garbage tokens in paginated reads', async () => {
    const room = e(roomId);
    const messages = await alice.get(`/rooms/${room}/messages`, { dir: 'b', limit: '1000000000' });
    expect((messages.chunk as unknown[]).length).toBeLessThanOrEqual(1_000);
    const directory = await alice.post('/user_directory/search', { search_term: 'a', limit: 1_000_000_000 });
    expect((directory.results as unknown[]).length).toBeLessThanOrEqual(50);
    expect((await alice.get('/notifications', { limit: '999999999' })).notifications).toBeDefined();
    expect((await alice.get('/publicRooms', { limit: '1000000000' })).chunk).toBeDefined();
    const wrong: string[] = [];
    const refused = async (method: string, path: string, options: { json?: unknown; query?: Record<string, string> }) => {
      const reply = await alice.request(method, path, options);
      if (reply.status < 400 || reply.status >= 500 || typeof reply.body.errcode !== 'string') wrong.push(`${method} ${path} ${JSON.stringify(options).slice(0, 80)} → ${reply.status}`);
    };
    for (const token of ['garbage', `p${'9'.repeat(40)}`, 'p-1', LONG]) {
      await refused('GET', '/publicRooms', { query: { since: token } });
      await refused('POST', '/publicRooms', { json: { since: token } });
      await refused('GET', `/rooms/${room}/members`, { query: { at: token } });
      await refused('GET', `/rooms/${room}/messages`, { query: { dir: 'b', from: token } });
      await refused('GET', '/notifications', { query: { from: token } });
      await refused('GET', '/sync', { query: { since: token, timeout: '0' } });
    }
    expect(wrong).toEqual([]);
  });

  it('refuses numbers canonical JSON forbids in events, whatever the JSON body parser admits', async () => {
    const room = e(roomId);
    const cases: Case[] = [];
    for (const value of ['1.5', '9007199254740992', '-9007199254740992', '1e300']) {
      cases.push({ name: `content ${value}`, method: 'PUT', path: `/rooms/${room}/send/m.room.message/${random(10)}`, raw: `{"body":"x","n":${value}}` });
      cases.push({ name: `state ${value}`, method: 'PUT', path: `/rooms/${room}/state/org.example.n/`, raw: `{"n":${value}}` });
    }
    expect(await unrefused(cases)).toEqual([]);
  });

  it('refuses over-long identifiers in paths (transaction ids, types, state keys, keys, ids)', async () => {
    const me = e(alice.userId);
    const room = e(roomId);
    const cases: Case[] = [];
    for (const [label, long] of [['random 3,000', LONG], ['256 bytes of é', LONG_UTF8]] as const) {
      const x = e(long);
      cases.push(
        { name: `${label} txn id`, method: 'PUT', path: `/rooms/${room}/send/m.room.message/${x}`, json: { body: 'x', msgtype: 'm.text' } },
        { name: `${label} event type`, method: 'PUT', path: `/rooms/${room}/send/${x}/${random(10)}`, json: { body: 'x' } },
        { name: `${label} state type`, method: 'PUT', path: `/rooms/${room}/state/${x}/`, json: {} },
        { name: `${label} state key`, method: 'PUT', path: `/rooms/${room}/state/org.example.s/${x}`, json: {} },
        { name: `${label} redact txn`, method: 'PUT', path: `/rooms/${room}/redact/${e(eventId)}/${x}`, json: {} },
        { name: `${label} redact target`, method: 'PUT', path: `/rooms/${room}/redact/$${x}/${random(10)}`, json: {} },
        { name: `${label} room id`, method: 'PUT', path: `/rooms/!${x}:${server.serverName}/send/m.room.message/${random(10)}`, json: { body: 'x' } },
        { name: `${label} account data type`, method: 'PUT', path: `/user/${me}/account_data/${x}`, json: {} },
        { name: `${label} room account data type`, method: 'PUT', path: `/user/${me}/rooms/${room}/account_data/${x}`, json: {} },
        { name: `${label} tag`, method: 'PUT', path: `/user/${me}/rooms/${room}/tags/${x}`, json: {} },
        { name: `${label} user id`, method: 'PUT', path: `/user/@${x}:${server.serverName}/account_data/t`, json: {} },
        { name: `${label} filter id`, method: 'GET', path: `/user/${me}/filter/${x}` },
        { name: `${label} profile key`, method: 'PUT', path: `/profile/${me}/${x}`, json: { [long]: 'v' }, errcode: 'M_KEY_TOO_LARGE' },
        { name: `${label} to-device type`, method: 'PUT', path: `/sendToDevice/${x}/${random(10)}`, json: { messages: {} } },
        { name: `${label} to-device txn`, method: 'PUT', path: `/sendToDevice/m.x/${x}`, json: { messages: {} } },
        { name: `${label} device id`, method: 'PUT', path: `/devices/${x}`, json: { display_name: 'x' } },
        { name: `${label} backup room`, method: 'PUT', path: `/room_keys/keys/${x}/s?version=${version}`, json: {} },
        { name: `${label} backup session`, method: 'PUT', path: `/room_keys/keys/${room}/${x}?version=${version}`, json: {} },
        { name: `${label} backup version`, method: 'PUT', path: `/room_keys/version/${x}`, json: {} },
        { name: `${label} push rule id`, method: 'PUT', path: `/pushrules/global/override/${x}`, json: { actions: [] } },
        { name: `${label} alias`, method: 'PUT', path: `/directory/room/${e('#')}${x}${e(`:${server.serverName}`)}`, json: { room_id: roomId } },
        { name: `${label} directory room`, method: 'PUT', path: `/directory/list/room/!${x}:${server.serverName}`, json: { visibility: 'public' } },
        { name: `${label} receipt type`, method: 'POST', path: `/rooms/${room}/receipt/${x}/${e(eventId)}`, json: {} },
        { name: `${label} receipt event`, method: 'POST', path: `/rooms/${room}/receipt/m.read/$${x}`, json: {} },
        { name: `${label} typing user`, method: 'PUT', path: `/rooms/${room}/typing/@${x}:${server.serverName}`, json: { typing: true, timeout: 1 } },
        { name: `${label} report event`, method: 'POST', path: `/rooms/${room}/report/$${x}`, json: { reason: 'x' } },
        { name: `${label} path segment`, method: 'GET', path: `/rooms/${room}/event/$${x}` },
      );
    }
    cases.push({ name: 'invalid UTF-8 in a path segment', method: 'PUT', path: `/user/${me}/account_data/x%ED%A0%80`, json: {} });
    // Refused before routing, whatever the route would make of the value.
    expect(await unrefused(cases, 'M_INVALID_PARAM')).toEqual([]);
  });

  it('refuses over-long identifiers in bodies (device and key ids, pusher keys, thread ids, alias names)', async () => {
    const me = alice.userId;
    const device = alice.session.deviceId;
    const room = e(roomId);
    const cases: Case[] = [
      { name: 'one-time key id', method: 'POST', path: '/keys/upload', json: { one_time_keys: { [`signed_curve25519:${LONG}`]: { key: 'k', signatures: {} } } } },
      { name: 'fallback key id', method: 'POST', path: '/keys/upload', json: { fallback_keys: { [`signed_curve25519:${LONG}`]: { key: 'k', fallback: true, signatures: {} } } } },
      { name: 'device key id', method: 'POST', path: '/keys/upload', json: { device_keys: { user_id: me, device_id: device, algorithms: [], keys: { [`ed25519:${LONG}`]: 'k' }, signatures: {} } } },
      { name: 'signature key id', method: 'POST', path: '/keys/signatures/upload', json: { [me]: { [LONG]: { user_id: me, device_id: device, keys: {}, signatures: {} } } } },
      { name: 'cross-signing key id', method: 'POST', path: '/keys/device_signing/upload', json: { master_key: { user_id: me, usage: ['master'], keys: { [`ed25519:${LONG}`]: LONG } } } },
      { name: 'backup room', method: 'PUT', path: `/room_keys/keys?version=${version}`, json: { rooms: { [`!${LONG}:x`]: { sessions: {} } } } },
      { name: 'backup session', method: 'PUT', path: `/room_keys/keys?version=${version}`, json: { rooms: { [roomId]: { sessions: { [LONG]: { first_message_index: 0, forwarded_count: 0, is_verified: false, session_data: {} } } } } } },
      { name: 'to-device device id', method: 'PUT', path: `/sendToDevice/m.x/${random(10)}`, json: { messages: { [me]: { [LONG]: { a: 1 } } } } },
      { name: 'to-device user id', method: 'PUT', path: `/sendToDevice/m.x/${random(10)}`, json: { messages: { [`@${LONG}:x`]: { '*': { a: 1 } } } } },
      { name: 'pushkey', method: 'POST', path: '/pushers/set', json: { kind: 'http', app_id: 'a', pushkey: LONG, app_display_name: 'a', device_display_name: 'd', lang: 'en', data: { url: 'https://push.example/_matrix/push/v1/notify' } } },
      { name: 'pusher app id', method: 'POST', path: '/pushers/set', json: { kind: 'http', app_id: random(65), pushkey: 'k', app_display_name: 'a', device_display_name: 'd', lang: 'en', data: { url: 'https://push.example/_matrix/push/v1/notify' } } },
      { name: 'receipt thread id', method: 'POST', path: `/rooms/${room}/receipt/m.read/${e(eventId)}`, json: { thread_id: `$${LONG}` } },
      { name: 'read marker', method: 'POST', path: `/rooms/${room}/read_markers`, json: { 'm.fully_read': `$${LONG}` } },
      { name: 'login device id', method: 'POST', path: '/login', json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'alice' }, password: 'correct horse battery staple', device_id: LONG } },
      { name: 'alias name', method: 'POST', path: '/createRoom', json: { room_alias_name: random(260) } },
      { name: 'alias name with NUL', method: 'POST', path: '/createRoom', json: { room_alias_name: 'a\u0000b' } },
      { name: 'initial state type', method: 'POST', path: '/createRoom', json: { initial_state: [{ type: LONG, state_key: '', content: {} }] } },
      { name: 'initial state key', method: 'POST', path: '/createRoom', json: { initial_state: [{ type: 'org.x', state_key: LONG, content: {} }] } },
      { name: 'relation target', method: 'PUT', path: `/rooms/${room}/send/m.reaction/${random(10)}`, json: { 'm.relates_to': { rel_type: 'm.annotation', event_id: `$${random(60_000)}`, key: 'x' } } },
      { name: 'content rule pattern', method: 'PUT', path: '/pushrules/global/content/long', json: { pattern: '*a'.repeat(2_000), actions: ['notify'] } },
      { name: 'override condition pattern', method: 'PUT', path: '/pushrules/global/override/long', json: { conditions: [{ kind: 'event_match', key: 'content.body', pattern: '*a'.repeat(2_000) }], actions: ['notify'] } },
      { name: 'registration username', method: 'POST', path: '/register', json: { username: random(300).toLowerCase(), password: 'p', auth: { type: 'm.login.dummy' } } },
      { name: 'login user', method: 'POST', path: '/login', json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: LONG }, password: 'p' } },
      { name: 'display name', method: 'PUT', path: `/profile/${e(me)}/displayname`, json: { displayname: random(70_000) } },
      { name: 'custom profile field', method: 'PUT', path: `/profile/${e(me)}/org.example.big`, json: { 'org.example.big': random(70_000) } },
      { name: 'registration device id', method: 'POST', path: '/register', json: { username: random(8).toLowerCase(), password: 'p', device_id: LONG, auth: { type: 'm.login.dummy' } } },
    ];
    expect(await unrefused(cases)).toEqual([]);
  });

  it('never reads the body of DELETE /devices/{deviceId} as the next request on a keep-alive connection', async () => {
    const { port } = new URL(server.url);
    const exchange = (bytes: string): Promise<{ statuses: number[]; closed: boolean }> => new Promise((resolve) => {
      const socket = connect(Number(port), '127.0.0.1');
      let text = '';
      let timer: NodeJS.Timeout | undefined;
      const done = (closed: boolean) => {
        clearTimeout(timer);
        socket.destroy();
        resolve({ statuses: [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1])), closed });
      };
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        clearTimeout(timer);
        timer = setTimeout(() => done(false), 700);
      });
      socket.on('end', () => done(true));
      socket.on('error', () => done(true));
      socket.write(bytes);
    });
    // The body is itself a request (a GET that would answer 200): read as one, it would be served.
    const smuggled = 'GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\n\r\n';
    const next = 'GET /_matrix/client/versions HTTP/1.1\r\nHost: x\r\n\r\n';
    const deleteWith = (body: string) => `DELETE /_matrix/client/v3/devices/${e(alice.session.deviceId)} HTTP/1.1\r\nHost: x\r\n`
      + `Authorization: Bearer ${alice.session.accessToken}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
    const small = await exchange(deleteWith(smuggled.repeat(100)) + next);
    expect(small.statuses).toEqual([400, 200]);
    const large = await exchange(deleteWith(smuggled.repeat(3_000)) + next);
    expect(large.statuses).toEqual([413]);
    expect(large.closed).toBe(true);
    expect((await alice.get('/account/whoami')).user_id).toBe(alice.userId);
  });

  it('answers an over-long URL (past what Node parses) with a Matrix error, and keeps serving', async () => {
    const { port } = new URL(server.url);
    const reply = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1');
      let text = '';
      socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1'); });
      socket.on('end', () => resolve(text));
      socket.on('error', () => resolve(text));
      socket.write(`GET /_matrix/client/v3/rooms/${random(20_000)}/state HTTP/1.1\r\nHost: x\r\n\r\n`);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(reply.slice(reply.indexOf('\r\n\r\n') + 4))).toMatchObject({ errcode: 'M_TOO_LARGE' });
    expect((await alice.get('/account/whoami')).user_id).toBe(alice.userId);
  });

  it('resolves an alias createRoom accepted, at the longest name it accepts', async () => {
    const suffix = `:${server.serverName}`;
    const name = random(255 - 1 - suffix.length);
    const created = await alice.createRoom({ room_alias_name: name });
    expect((await alice.get(`/directory/room/${e(`#${name}${suffix}`)}`)).room_id).toBe(created);
    await alice.fails('POST', '/createRoom', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { room_alias_name: `${name}x` } });
  });

  // Last: after every hostile request above, every room (on every partition) still takes writes.
  it('has every room still take writes, and /sync show them', async () => {
    const since = (await bob.sync()).next_batch as string;
    const sent = new Map<string, string>([[roomId, await alice.send(roomId, 'still writable')]]);
    for (const canary of canaries) sent.set(canary, await bob.send(canary, 'still writable'));
    // A new room too.
    const other = await alice.createRoom({ preset: 'public_chat', room_alias_name: `ok${random(6)}` });
    await bob.post(`/join/${e(other)}`);
    sent.set(other, await alice.send(other, 'also writable'));
    const seen = new Set<string>();
    await bob.syncUntil((sync) => {
      for (const [room, event] of sent) if (timelineOf(sync, room).some((item) => item.event_id === event)) seen.add(room);
      return seen.size === sent.size;
    }, { since });
    // Per-user stores too.
    await alice.put(`/user/${e(alice.userId)}/account_data/org.example.fine`, { ok: true });
    expect(await alice.get(`/user/${e(alice.userId)}/account_data/org.example.fine`)).toEqual({ ok: true });
  });
});
