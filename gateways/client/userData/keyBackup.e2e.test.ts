// Server-side key backups end to end (client-server-api § Server-side key backups, key_backup.yaml):
// versions, keys by backup/room/session, the replacement rules, and the error answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type TestServer, type UserClient } from '../../../test/harness/index.ts';

const ALGORITHM = 'm.megolm_backup.v1.curve25519-aes-sha2';
const ROOM = '!backup:strata.test';
const OTHER_ROOM = '!other:strata.test';

const key = (ciphertext: string, overrides: Body = {}): Body => ({
  first_message_index: 3, forwarded_count: 1, is_verified: false,
  session_data: { ephemeral: 'ZXBoZW1lcmFs', ciphertext, mac: 'bWFj' }, ...overrides,
});

describe('server-side key backups', () => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;

  const roomKeys = (path = ''): string => `/room_keys/keys${path}`;

  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded' });
    client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
  });
  afterAll(() => server?.stop());

  it('creates, reads, updates and deletes backup versions', async () => {
    await alice.fails('GET', '/room_keys/version', { status: 404, errcode: 'M_NOT_FOUND' });
    const { version } = await alice.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: { public_key: 'cHVibGlj' } });
    expect(version).toEqual(expect.any(String));
    const current = { algorithm: ALGORITHM, auth_data: { public_key: 'cHVibGlj' }, count: 0, etag: expect.any(String), version };
    expect(await alice.get('/room_keys/version')).toEqual(current);
    expect(await alice.get(`/room_keys/version/${e(version)}`)).toEqual(current);
    // Backups are per user.
    await bob.fails('GET', '/room_keys/version', { status: 404, errcode: 'M_NOT_FOUND' });
    await bob.fails('GET', `/room_keys/version/${e(version)}`, { status: 404, errcode: 'M_NOT_FOUND' });

    expect(await alice.put(`/room_keys/version/${e(version)}`, { algorithm: ALGORITHM, auth_data: { public_key: 'bmV3' }, version })).toEqual({});
    expect((await alice.get('/room_keys/version')).auth_data).toEqual({ public_key: 'bmV3' });
    await alice.fails('PUT', `/room_keys/version/${e(version)}`, { status: 400, errcode: 'M_INVALID_PARAM' },
      { json: { algorithm: 'org.example.other', auth_data: {} } });
    await alice.fails('PUT', `/room_keys/version/${e(version)}`, { status: 400, errcode: 'M_INVALID_PARAM' },
      { json: { algorithm: ALGORITHM, auth_data: {}, version: '12345' } });
    await alice.fails('PUT', '/room_keys/version/12345', { status: 404, errcode: 'M_NOT_FOUND' }, { json: { algorithm: ALGORITHM, auth_data: {} } });
    await alice.fails('POST', '/room_keys/version', { status: 400, errcode: 'M_BAD_JSON' }, { json: { algorithm: ALGORITHM } });

    const { version: newer } = await alice.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: {} });
    expect((await alice.get('/room_keys/version')).version).toBe(newer);
    expect(await alice.delete(`/room_keys/version/${e(newer)}`)).toEqual({});
    // Deleting again succeeds; a version that never existed is not found.
    expect(await alice.delete(`/room_keys/version/${e(newer)}`)).toEqual({});
    await alice.fails('DELETE', '/room_keys/version/12345', { status: 404, errcode: 'M_NOT_FOUND' });
    await alice.fails('GET', `/room_keys/version/${e(newer)}`, { status: 404, errcode: 'M_NOT_FOUND' });
    expect((await alice.get('/room_keys/version')).version).toBe(version);
  });

  it('stores keys by backup, room and session, answering etag and count', async () => {
    const { version } = await bob.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: {} });
    const v = { version };
    const all = await bob.request('PUT', roomKeys(), { query: v, json: { rooms: { [ROOM]: { sessions: { s1: key('a'), s2: key('b') } } } } });
    expect(all.status).toBe(200);
    expect(all.body).toEqual({ etag: expect.any(String), count: 2 });
    const room = await bob.request('PUT', roomKeys(`/${e(OTHER_ROOM)}`), { query: v, json: { sessions: { s3: key('c') } } });
    expect(room.body.count).toBe(3);
    const session = await bob.request('PUT', roomKeys(`/${e(OTHER_ROOM)}/s4`), { query: v, json: key('d') });
    expect(session.body.count).toBe(4);
    expect(session.body.etag).not.toBe(all.body.etag);

    expect(await bob.get(roomKeys(), v)).toEqual({
      rooms: { [ROOM]: { sessions: { s1: key('a'), s2: key('b') } }, [OTHER_ROOM]: { sessions: { s3: key('c'), s4: key('d') } } },
    });
    expect(await bob.get(roomKeys(`/${e(ROOM)}`), v)).toEqual({ sessions: { s1: key('a'), s2: key('b') } });
    expect(await bob.get(roomKeys(`/${e('!empty:strata.test')}`), v)).toEqual({ sessions: {} });
    expect(await bob.get(roomKeys(`/${e(ROOM)}/s1`), v)).toEqual(key('a'));
    await bob.fails('GET', roomKeys(`/${e(ROOM)}/nope`), { status: 404, errcode: 'M_NOT_FOUND' }, { query: v });
    expect(await bob.get('/room_keys/version')).toMatchObject({ count: 4, etag: session.body.etag });

    expect((await bob.request('DELETE', roomKeys(`/${e(ROOM)}/s1`), { query: v })).body.count).toBe(3);
    expect((await bob.request('DELETE', roomKeys(`/${e(OTHER_ROOM)}`), { query: v })).body.count).toBe(1);
    expect((await bob.request('DELETE', roomKeys(), { query: v })).body.count).toBe(0);
    expect(await bob.get(roomKeys(), v)).toEqual({ rooms: {} });
  });

  it('keeps the better key of a session: verified, then lower first_message_index, then lower forwarded_count', async () => {
    const { version } = await alice.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: {} });
    const v = { version };
    const path = roomKeys(`/${e(ROOM)}/session`);
    const put = async (body: Body): Promise<Body> => (await alice.request('PUT', path, { query: v, json: body })).body;
    const stored = (): Promise<Body> => alice.get(path, v);
    const first = await put(key('first', { first_message_index: 5, forwarded_count: 2 }));
    // Worse in each rule, in order: unverified stays behind verified only once one is verified.
    expect(await put(key('later index', { first_message_index: 6, forwarded_count: 0 }))).toEqual(first);
    expect(await put(key('more forwarded', { first_message_index: 5, forwarded_count: 3 }))).toEqual(first);
    expect(await put(key('same', { first_message_index: 5, forwarded_count: 2 }))).toEqual(first);
    expect((await stored()).session_data.ciphertext).toBe('first');
    await put(key('fewer forwards', { first_message_index: 5, forwarded_count: 1 }));
    expect((await stored()).session_data.ciphertext).toBe('fewer forwards');
    await put(key('earlier index', { first_message_index: 4, forwarded_count: 9 }));
    expect((await stored()).session_data.ciphertext).toBe('earlier index');
    await put(key('verified', { is_verified: true, first_message_index: 50, forwarded_count: 50 }));
    expect((await stored()).session_data.ciphertext).toBe('verified');
    await put(key('unverified but earlier', { is_verified: false, first_message_index: 0, forwarded_count: 0 }));
    expect(await stored()).toEqual(key('verified', { is_verified: true, first_message_index: 50, forwarded_count: 50 }));
  });

  it('refuses writes to an old version with M_WRONG_ROOM_KEYS_VERSION and the current version', async () => {
    const { version: old } = await alice.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: {} });
    const { version: current } = await alice.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: {} });
    const refused = await alice.fails('PUT', roomKeys(`/${e(ROOM)}/s`), { status: 403, errcode: 'M_WRONG_ROOM_KEYS_VERSION' },
      { query: { version: old }, json: key('x') });
    expect(refused.current_version).toBe(current);
    await alice.fails('PUT', roomKeys(), { status: 403, errcode: 'M_WRONG_ROOM_KEYS_VERSION' },
      { query: { version: '12345' }, json: { rooms: {} } });
    // Reading an older version that still exists is fine.
    expect(await alice.get(roomKeys(), { version: old })).toEqual({ rooms: {} });
  });

  it('answers M_NOT_FOUND for unknown versions and M_MISSING_PARAM without a version', async () => {
    const carol = client.as(await client.register('carol'));
    await carol.fails('PUT', roomKeys(), { status: 404, errcode: 'M_NOT_FOUND' }, { query: { version: '1' }, json: { rooms: {} } });
    const { version } = await carol.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: {} });
    for (const method of ['GET', 'DELETE']) {
      await carol.fails(method, roomKeys(), { status: 404, errcode: 'M_NOT_FOUND' }, { query: { version: '12345' } });
      await carol.fails(method, roomKeys(`/${e(ROOM)}`), { status: 404, errcode: 'M_NOT_FOUND' }, { query: { version: 'x' } });
      await carol.fails(method, roomKeys(), { status: 400, errcode: 'M_MISSING_PARAM' });
    }
    await carol.fails('PUT', roomKeys(), { status: 400, errcode: 'M_MISSING_PARAM' }, { json: { rooms: {} } });
    await carol.fails('PUT', roomKeys(`/${e(ROOM)}/s`), { status: 400, errcode: 'M_BAD_JSON' },
      { query: { version }, json: { ...key('x'), first_message_index: -1 } });
    await carol.fails('PUT', roomKeys(), { status: 400, errcode: 'M_BAD_JSON' }, { query: { version }, json: { rooms: { [ROOM]: {} } } });
    // Another user's version is unknown to carol.
    const { version: bobs } = await bob.post('/room_keys/version', { algorithm: ALGORITHM, auth_data: {} });
    await carol.fails('GET', roomKeys(), { status: 404, errcode: 'M_NOT_FOUND' }, { query: { version: bobs } });
  });
});
