// What Element asks at start-up besides /sync, over HTTP against the whole server (embedded):
// well-known, TURN, third-party protocols, 3PIDs, pushers, refresh tokens, OpenID tokens and whois. Expectations
// from the spec (v1.19 data/api/client-server/*.yaml), and Synapse where the spec is silent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, PASSWORD, e, startTestServer, type TestServer, type UserClient } from '../harness/index.ts';

const PUSHER = {
  kind: 'http', app_id: 'org.example.app', pushkey: 'key-1', app_display_name: 'App', device_display_name: 'Phone', lang: 'en',
  data: { url: 'https://push.example.org/_matrix/push/v1/notify', format: 'event_id_only' },
};

describe('client start-up endpoints (embedded)', () => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;

  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded', config: { STRATA_PUBLIC_BASE_URL: 'https://matrix.example.org/' } });
    client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
  });
  afterAll(() => server?.stop());

  it('serves the well-known client document from public_base_url', async () => {
    // Outside /_matrix, which the harness client prefixes; fetched directly.
    const response = await fetch(`${server.url}/.well-known/matrix/client`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ 'm.homeserver': { base_url: 'https://matrix.example.org' } });
  });

  it('answers TURN and third-party protocols with empty objects, behind a token', async () => {
    expect(await alice.get('/voip/turnServer')).toEqual({});
    expect(await alice.get('/thirdparty/protocols')).toEqual({});
    await client.fails('GET', '/voip/turnServer', { status: 401, errcode: 'M_MISSING_TOKEN' });
  });

  it('lists no 3PIDs and refuses to add, bind or request tokens for any', async () => {
    expect(await alice.get('/account/3pid')).toEqual({ threepids: [] });
    await client.fails('POST', '/account/3pid/email/requestToken', { status: 400, errcode: 'M_THREEPID_MEDIUM_NOT_SUPPORTED' },
      { json: { client_secret: 'secret', email: 'alice@example.org', send_attempt: 1 } });
    await client.fails('POST', '/account/3pid/msisdn/requestToken', { status: 400, errcode: 'M_THREEPID_MEDIUM_NOT_SUPPORTED' },
      { json: { client_secret: 'secret', country: 'GB', phone_number: '07700900001', send_attempt: 1 } });
    await alice.fails('POST', '/account/3pid/add', { status: 400, errcode: 'M_MISSING_PARAM' }, { json: {} });
    const challenge = await alice.request('POST', '/account/3pid/add', { json: { client_secret: 'secret', sid: 'sid' } });
    expect(challenge.status).toBe(401);
    await alice.fails('POST', '/account/3pid/add', { status: 400, errcode: 'M_THREEPID_AUTH_FAILED' }, {
      json: {
        client_secret: 'secret', sid: 'sid',
        auth: { type: 'm.login.password', session: challenge.body.session, identifier: { type: 'm.id.user', user: alice.userId }, password: PASSWORD },
      },
    });
    await alice.fails('POST', '/account/3pid', { status: 403, errcode: 'M_THREEPID_AUTH_FAILED' }, { json: { three_pid_creds: { sid: 's', client_secret: 'c' } } });
    await alice.fails('POST', '/account/3pid/bind', { status: 400, errcode: 'M_MISSING_PARAM' }, { json: { sid: 's' } });
    await alice.fails('POST', '/account/3pid/bind', { status: 400, errcode: 'M_SERVER_NOT_TRUSTED' },
      { json: { id_server: 'id.example.org', id_access_token: 't', sid: 's', client_secret: 'c' } });
    for (const action of ['delete', 'unbind']) {
      expect(await alice.post(`/account/3pid/${action}`, { medium: 'email', address: 'alice@example.org' })).toEqual({ id_server_unbind_result: 'no-support' });
      await alice.fails('POST', `/account/3pid/${action}`, { status: 400, errcode: 'M_MISSING_PARAM' }, { json: { medium: 'email' } });
    }
  });

  it('creates, updates, appends and deletes pushers', async () => {
    expect(await alice.get('/pushers')).toEqual({ pushers: [] });
    await alice.post('/pushers/set', PUSHER);
    await alice.post('/pushers/set', { ...PUSHER, lang: 'de', profile_tag: 'tag' });
    expect((await alice.get('/pushers')).pushers).toEqual([{ ...PUSHER, lang: 'de', profile_tag: 'tag' }]);
    // Without `append`, bob's pusher for the same app and key takes it from alice; with it, both keep theirs.
    await bob.post('/pushers/set', { ...PUSHER, append: true });
    expect((await alice.get('/pushers')).pushers).toHaveLength(1);
    await bob.post('/pushers/set', PUSHER);
    expect((await alice.get('/pushers')).pushers).toEqual([]);
    expect((await bob.get('/pushers')).pushers).toEqual([{ ...PUSHER, profile_tag: '' }]);
    await bob.post('/pushers/set', { app_id: PUSHER.app_id, pushkey: PUSHER.pushkey, kind: null });
    expect((await bob.get('/pushers')).pushers).toEqual([]);
  });

  it('drops the pushers a device set when it logs out', async () => {
    const phone = client.as(await client.login(alice.userId, { deviceId: 'PUSHPHONE' }));
    await phone.post('/pushers/set', { ...PUSHER, pushkey: 'phone-key' });
    await alice.post('/pushers/set', { ...PUSHER, pushkey: 'main-key' });
    expect((await alice.get('/pushers')).pushers.map((p: { pushkey: string }) => p.pushkey).sort()).toEqual(['main-key', 'phone-key']);
    await phone.post('/logout');
    expect((await alice.get('/pushers')).pushers.map((p: { pushkey: string }) => p.pushkey)).toEqual(['main-key']);
    await alice.post('/pushers/set', { app_id: PUSHER.app_id, pushkey: 'main-key', kind: null });
  });

  it('validates pushers as the spec and Synapse do', async () => {
    const { lang: _lang, data: _data, ...withoutLangAndData } = PUSHER;
    const missing = await alice.fails('POST', '/pushers/set', { status: 400, errcode: 'M_MISSING_PARAM' }, { json: withoutLangAndData });
    expect(missing.error).toContain('lang, data');
    await alice.fails('POST', '/pushers/set', { status: 400, errcode: 'M_MISSING_PARAM' }, { json: { ...PUSHER, data: {} } });
    await alice.fails('POST', '/pushers/set', { status: 400, errcode: 'M_MISSING_PARAM' },
      { json: { ...PUSHER, data: { url: 'https://push.example.org/elsewhere' } } });
    await alice.fails('POST', '/pushers/set', { status: 400, errcode: 'M_THREEPID_NOT_FOUND' },
      { json: { ...PUSHER, kind: 'email', app_id: 'm.email', pushkey: 'alice@example.org', data: {} } });
    await alice.fails('POST', '/pushers/set', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { ...PUSHER, app_id: 'a'.repeat(65) } });
    await alice.fails('POST', '/pushers/set', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { ...PUSHER, pushkey: 'k'.repeat(513) } });
    expect((await alice.get('/pushers')).pushers).toEqual([]);
  });

  it('issues OpenID tokens for the requester only', async () => {
    const token = await alice.post(`/user/${e(alice.userId)}/openid/request_token`, {});
    expect(token).toEqual({ access_token: expect.any(String), token_type: 'Bearer', matrix_server_name: server.serverName, expires_in: 3600 });
    // It is no access token.
    await client.fails('GET', '/account/whoami', { status: 401, errcode: 'M_UNKNOWN_TOKEN' }, { token: token.access_token as string });
    await alice.fails('POST', `/user/${e(bob.userId)}/openid/request_token`, { status: 403, errcode: 'M_FORBIDDEN' }, { json: {} });
  });

  it('issues refresh tokens on request, and /refresh rotates them', async () => {
    const registered = await client.ok('POST', '/register', {
      json: { username: 'refresher', password: PASSWORD, refresh_token: true, auth: { type: 'm.login.dummy' } },
    });
    expect(registered).toMatchObject({ refresh_token: expect.any(String), expires_in_ms: 300_000 });
    const plain = await client.ok('POST', '/login', {
      json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'refresher' }, password: PASSWORD },
    });
    expect(plain).not.toHaveProperty('refresh_token');
    expect(plain).not.toHaveProperty('expires_in_ms');
    const login = await client.ok('POST', '/login', {
      json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'refresher' }, password: PASSWORD, refresh_token: true },
    });
    expect(login).toMatchObject({ access_token: expect.any(String), refresh_token: expect.any(String), expires_in_ms: 300_000 });

    const refreshed = await client.ok('POST', '/refresh', { json: { refresh_token: login.refresh_token } });
    expect(refreshed).toEqual({ access_token: expect.any(String), refresh_token: expect.any(String), expires_in_ms: 300_000 });
    await client.fails('GET', '/account/whoami', { status: 401, errcode: 'M_UNKNOWN_TOKEN' }, { token: login.access_token as string });
    expect(await client.ok('GET', '/account/whoami', { token: refreshed.access_token as string })).toMatchObject({ device_id: login.device_id });
    // The new access token was used: the old refresh token is revoked.
    await client.fails('POST', '/refresh', { status: 401, errcode: 'M_UNKNOWN_TOKEN' }, { json: { refresh_token: login.refresh_token } });
    await client.fails('POST', '/refresh', { status: 400, errcode: 'M_MISSING_PARAM' }, { json: {} });
    expect((await client.ok('POST', '/refresh', { json: { refresh_token: refreshed.refresh_token } })).access_token).toEqual(expect.any(String));
  });

  it('answers whois to server admins and to the user themself', async () => {
    const root = client.as(await client.registerWithSharedSecret(server.registrationSharedSecret, 'root', { admin: true }));
    await alice.fails('GET', `/admin/whois/${e(bob.userId)}`, { status: 403, errcode: 'M_FORBIDDEN' });
    const seen = await root.get(`/admin/whois/${e(alice.userId)}`);
    expect(seen).toEqual({
      user_id: alice.userId,
      devices: {
        [alice.session.deviceId]: { sessions: [{ connections: [{ ip: expect.any(String), last_seen: expect.any(Number), user_agent: expect.any(String) }] }] },
      },
    });
    expect((await alice.get(`/admin/whois/${e(alice.userId)}`)).user_id).toBe(alice.userId);
    await root.fails('GET', `/admin/whois/${e('@nobody:' + server.serverName)}`, { status: 404, errcode: 'M_NOT_FOUND' });
    await root.fails('GET', `/admin/whois/${e('@alice:elsewhere.example')}`, { status: 400, errcode: 'M_INVALID_PARAM' });
  });
});
