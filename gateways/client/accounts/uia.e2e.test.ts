// User-interactive auth over HTTP on every endpoint that uses it (client-server-api § User-Interactive
// Authentication API), in both deployments: the 401 bodies, sessions bound to their request,
// registration retries, non-ASCII passwords, and the reCAPTCHA and terms stages against a local
// server playing Google's siteverify API.
import { createServer, type Server } from 'node:http';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type Session, type TestServer } from '../../../test/harness/index.ts';

const CHANGED = 'Requested operation has changed during the UI authentication session.';

const passwordAuth = (session: string | undefined, user: string, password: string): Body => ({
  type: 'm.login.password',
  ...(session === undefined ? {} : { session }),
  identifier: { type: 'm.id.user', user },
  password,
});

describe.each<ServerMode>(['embedded', 'distributed'])('user-interactive auth (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
  });
  afterAll(() => server?.stop());

  /** The 401 of a first request, checked for the spec's shape; its session. */
  const challenge = async (method: string, p: string, json: Body | undefined, token?: string): Promise<{ body: Body; session: string }> => {
    const reply = await client.request(method, p, { ...(json === undefined ? {} : { json }), ...(token === undefined ? {} : { token }) });
    expect(reply.status).toBe(401);
    expect(reply.body.flows).toEqual(expect.arrayContaining([{ stages: expect.any(Array) }]));
    expect(reply.body.params).toEqual(expect.any(Object));
    expect(typeof reply.body.session).toBe('string');
    expect(reply.body.completed).toBeUndefined();
    return { body: reply.body, session: reply.body.session as string };
  };

  /** The 401 refusing a session continued by another request; its body. */
  const changed = async (method: string, p: string, json: Body, token?: string): Promise<Body> => {
    const reply = await client.request(method, p, { json, ...(token === undefined ? {} : { token }) });
    expect(reply.status).toBe(401);
    expect(reply.body).toMatchObject({ errcode: 'M_UNKNOWN', error: CHANGED, flows: expect.any(Array), session: expect.any(String) });
    return reply.body;
  };

  it('registers behind m.login.dummy; a retry of the completed session answers with the same account', async () => {
    const { body, session } = await challenge('POST', '/register', { username: 'retry', password: 'pw-retry' });
    expect(body).toEqual({ flows: [{ stages: ['m.login.dummy'] }], params: {}, session });
    const json = { username: 'retry', password: 'pw-retry', auth: { type: 'm.login.dummy', session } };
    const first = await client.ok('POST', '/register', { json });
    expect(first).toMatchObject({ user_id: `@retry:${server.serverName}`, access_token: expect.any(String), device_id: expect.any(String) });
    // The answer was lost, say: the same request again is the same account, not M_USER_IN_USE.
    const again = await client.ok('POST', '/register', { json });
    expect(again.user_id).toBe(first.user_id);
    expect(again.access_token).not.toBe(first.access_token);
    // Only the session, with inhibit_login: the account, and no token or device.
    const quiet = await client.ok('POST', '/register', { json: { username: 'retry', inhibit_login: true, auth: { session } } });
    expect(quiet).toEqual({ user_id: first.user_id, home_server: server.serverName });
  });

  it('keeps the password of an unfinished registration for a last request that leaves it out (as Synapse)', async () => {
    const { session } = await challenge('POST', '/register', { username: 'later', password: 'pw-later' });
    const done = await client.ok('POST', '/register', { json: { username: 'later', auth: { type: 'm.login.dummy', session } } });
    expect(done.user_id).toBe(`@later:${server.serverName}`);
    await client.login('later', { password: 'pw-later' });
  });

  it('registers with the parameters of the session`s first request when a stage sends only auth (Element Android, as Synapse)', async () => {
    const { session } = await challenge('POST', '/register', { username: 'android', password: 'pw-android', initial_device_display_name: 'Phone' });
    const done = await client.ok('POST', '/register', { json: { auth: { type: 'm.login.dummy', session } } });
    expect(done.user_id).toBe(`@android:${server.serverName}`);
    const devices = await client.ok('GET', '/devices', { token: done.access_token as string });
    expect(devices.devices).toEqual([expect.objectContaining({ device_id: done.device_id, display_name: 'Phone' })]);
    await client.login('android', { password: 'pw-android' });
  });

  it('registers with inhibit_login and no device or token', async () => {
    const { session } = await challenge('POST', '/register', { username: 'quiet', password: 'pw', inhibit_login: true });
    const done = await client.ok('POST', '/register', {
      json: { username: 'quiet', password: 'pw', inhibit_login: true, auth: { type: 'm.login.dummy', session } },
    });
    expect(done).toEqual({ user_id: `@quiet:${server.serverName}`, home_server: server.serverName });
    await client.login('quiet', { password: 'pw' });
  });

  it('refuses a session continued on another endpoint (Synapse`s errcode and message, a 401 with a new session)', async () => {
    const { session } = await challenge('POST', '/register', { username: 'moved', password: 'pw' });
    const moved = await changed('POST', '/_matrix/client/r0/register', { username: 'moved', password: 'pw', auth: { type: 'm.login.dummy', session } });
    expect(moved.session).not.toBe(session);
    await client.ok('POST', '/_matrix/client/r0/register', {
      json: { username: 'moved', password: 'pw', auth: { type: 'm.login.dummy', session: moved.session } },
    });
    await client.fails('POST', '/register', { status: 400, errcode: 'M_UNKNOWN' }, {
      json: { username: 'unmoved', password: 'pw', auth: { type: 'm.login.dummy', session: 'no-such-session' } },
    });
  });

  it('keeps non-ASCII passwords as typed (no normalisation) and bounds their length', async () => {
    const password = 'pässwörd Ω ✓ 🔑';
    const alice = await client.register('unicode', password);
    expect(alice.userId).toBe(`@unicode:${server.serverName}`);
    await client.login('unicode', { password });
    // The same text in another normal form is another password (Synapse does not normalise either).
    await client.fails('POST', '/login', { status: 403, errcode: 'M_FORBIDDEN' }, {
      json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'unicode' }, password: password.normalize('NFD') },
    });
    const long = '🔑'.repeat(513);
    await client.fails('POST', '/register', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { username: 'toolong', password: long } });
    await client.fails('POST', '/login', { status: 403, errcode: 'M_FORBIDDEN' }, {
      json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: 'unicode' }, password: long },
    });
    // 512 code points is allowed, however many UTF-16 units they take.
    await client.register('longest', '🔑'.repeat(512));
    await client.login('longest', { password: '🔑'.repeat(512) });
  });

  describe('operations on an account', () => {
    let user: Session;
    const password = 'pw-account';

    beforeAll(async () => {
      user = await client.register('acct', password);
      await client.login('acct', { password, deviceId: 'OTHER' });
      await client.login('acct', { password, deviceId: 'THIRD' });
    });

    it('answers a wrong password with the 401 and errcode M_FORBIDDEN (the spec`s example), then completes', async () => {
      const { body, session } = await challenge('POST', '/account/password', { new_password: 'pw-new', logout_devices: false }, user.accessToken);
      expect(body).toEqual({ flows: [{ stages: ['m.login.password'] }], params: {}, session });
      const wrong = await client.request('POST', '/account/password', {
        token: user.accessToken, json: { new_password: 'pw-new', logout_devices: false, auth: passwordAuth(session, user.userId, 'nope') },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.body).toEqual({ ...body, errcode: 'M_FORBIDDEN', error: 'Invalid password' });
      // The parameters are bound to the session: another logout_devices is another operation.
      await changed('POST', '/account/password', {
        new_password: 'pw-new', logout_devices: true, auth: passwordAuth(session, user.userId, password),
      }, user.accessToken);
      await client.ok('POST', '/account/password', {
        token: user.accessToken, json: { new_password: 'pw-new', logout_devices: false, auth: passwordAuth(session, user.userId, password) },
      });
      await client.login('acct', { password: 'pw-new' });
      // Put the password back for the other cases, in one request (auth without a session starts one).
      await client.ok('POST', '/account/password', {
        token: user.accessToken, json: { new_password: password, logout_devices: false, auth: passwordAuth(undefined, user.userId, 'pw-new') },
      });
    });

    it('binds a device deletion to its devices and path', async () => {
      const { session } = await challenge('POST', '/delete_devices', { devices: ['OTHER'] }, user.accessToken);
      await changed('POST', '/delete_devices', { devices: [user.deviceId], auth: passwordAuth(session, user.userId, password) }, user.accessToken);
      await changed('DELETE', `/devices/${e(user.deviceId)}`, { auth: passwordAuth(session, user.userId, password) }, user.accessToken);
      await client.ok('POST', '/delete_devices', {
        token: user.accessToken, json: { devices: ['OTHER'], auth: passwordAuth(session, user.userId, password) },
      });
      const left = (await client.ok('GET', '/devices', { token: user.accessToken })).devices as Body[];
      expect(left.map((device) => device.device_id)).toEqual(expect.arrayContaining([user.deviceId, 'THIRD']));
      expect(left.map((device) => device.device_id)).not.toContain('OTHER');
      // DELETE /devices/{deviceId}: a first request without a body, then the stage.
      const single = await client.request('DELETE', '/devices/THIRD', { token: user.accessToken });
      expect(single.status).toBe(401);
      await client.ok('DELETE', '/devices/THIRD', {
        token: user.accessToken, json: { auth: passwordAuth(single.body.session as string, user.userId, password) },
      });
    });

    it('answers a stage not offered with errcode, an auth without type without, and keeps the session', async () => {
      const { body, session } = await challenge('POST', '/account/3pid/add', { client_secret: 'secret', sid: 'sid' }, user.accessToken);
      expect(body.flows).toEqual([{ stages: ['m.login.password'] }]);
      const unknown = await client.request('POST', '/account/3pid/add', {
        token: user.accessToken, json: { client_secret: 'secret', sid: 'sid', auth: { type: 'org.example.magic', session } },
      });
      expect(unknown.status).toBe(401);
      expect(unknown.body).toMatchObject({ flows: body.flows, session, errcode: 'M_FORBIDDEN', error: expect.any(String) });
      const untyped = await client.request('POST', '/account/3pid/add', {
        token: user.accessToken, json: { client_secret: 'secret', sid: 'sid', auth: { session } },
      });
      expect(untyped.status).toBe(401);
      expect(untyped.body).toEqual(body);
    });

    it('asks for the password to replace cross-signing keys', async () => {
      const key = (usage: string, id: string): Body => ({ user_id: user.userId, usage: [usage], keys: { [`ed25519:${id}`]: id } });
      const first = { master_key: key('master', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA') };
      await client.ok('POST', '/keys/device_signing/upload', { token: user.accessToken, json: first });
      const second = { master_key: key('master', 'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB') };
      const { session } = await challenge('POST', '/keys/device_signing/upload', second, user.accessToken);
      await client.ok('POST', '/keys/device_signing/upload', {
        token: user.accessToken, json: { ...second, auth: passwordAuth(session, user.userId, password) },
      });
    });

    it('limits failed password attempts per user: a 429 after the burst, even without an access token', async () => {
      const target = await client.register('guessed', 'pw-guessed');
      const { session } = await challenge('POST', '/account/deactivate', {}, undefined);
      for (let i = 0; i < 3; i++) {
        const wrong = await client.request('POST', '/account/deactivate', { json: { auth: passwordAuth(session, target.userId, `guess${i}`) } });
        expect([wrong.status, wrong.body.errcode]).toEqual([401, 'M_FORBIDDEN']);
      }
      const limited = await client.fails('POST', '/account/deactivate', { status: 429, errcode: 'M_LIMIT_EXCEEDED' }, {
        json: { auth: passwordAuth(session, target.userId, 'pw-guessed') },
      });
      expect(limited.retry_after_ms).toEqual(expect.any(Number));
      await client.ok('GET', '/account/whoami', { token: target.accessToken });
    });

    it('deactivates after the password stage, with `completed` never claiming a failed stage', async () => {
      const victim = await client.register('leaving', 'pw-leave');
      const { session } = await challenge('POST', '/account/deactivate', { erase: false }, victim.accessToken);
      const wrong = await client.request('POST', '/account/deactivate', {
        token: victim.accessToken, json: { erase: false, auth: passwordAuth(session, victim.userId, 'wrong') },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.body.completed).toBeUndefined();
      expect(await client.ok('POST', '/account/deactivate', {
        token: victim.accessToken, json: { erase: false, auth: passwordAuth(session, victim.userId, 'pw-leave') },
      })).toEqual({ id_server_unbind_result: 'success' });
    });
  });
});

describe.each<ServerMode>(['embedded', 'distributed'])('registration with reCAPTCHA and terms (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let siteverify: Server;
  let templateDir: string;
  const verifications: URLSearchParams[] = [];

  beforeAll(async () => {
    // Plays Google's siteverify API: form-encoded secret, response and remoteip; `success` only for the right pair.
    siteverify = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => { text += chunk.toString('utf8'); });
      request.on('end', () => {
        const form = new URLSearchParams(text);
        verifications.push(form);
        const success = request.method === 'POST' && form.get('secret') === 'private-key' && form.get('response') === 'solved';
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(success
          ? { success: true, hostname: 'client.example' } : { success: false, 'error-codes': ['invalid-input-response'] }));
      });
    });
    await new Promise<void>((resolve) => siteverify.listen(0, '127.0.0.1', resolve));
    const address = siteverify.address();
    if (address === null || typeof address === 'string') throw new Error('siteverify server has no port');
    templateDir = await mkdtemp(path.join(tmpdir(), 'strata-consent-'));
    await mkdir(path.join(templateDir, 'en'));
    await writeFile(path.join(templateDir, 'en', '1.0.html'), '<html><body>Be nice.</body></html>');
    server = await startTestServer({
      mode,
      file: {
        enable_registration_captcha: true,
        recaptcha_public_key: 'public-key',
        recaptcha_private_key: 'private-key',
        recaptcha_siteverify_api: `http://127.0.0.1:${address.port}/recaptcha/api/siteverify`,
        user_consent: { version: '1.0', template_dir: templateDir, policy_name: 'Terms of Service', require_at_registration: true },
      },
    });
    client = new MatrixClient(server.url);
  });
  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => siteverify?.close(resolve));
    if (templateDir !== undefined) await rm(templateDir, { recursive: true, force: true });
  });

  it('asks for the captcha, then the terms, then dummy, naming their params', async () => {
    const json = { username: 'human', password: 'pw-human' };
    const first = await client.request('POST', '/register', { json });
    expect(first.status).toBe(401);
    const session = first.body.session as string;
    const policyUrl = `${server.url}/_matrix/consent?v=1.0`;
    expect(first.body).toEqual({
      flows: [{ stages: ['m.login.recaptcha', 'm.login.terms', 'm.login.dummy'] }],
      params: {
        'm.login.recaptcha': { public_key: 'public-key' },
        'm.login.terms': { policies: { privacy_policy: { version: '1.0', en: { name: 'Terms of Service', url: policyUrl } } } },
      },
      session,
    });
    const policy = await fetch(policyUrl);
    expect([policy.status, await policy.text()]).toEqual([200, '<html><body>Be nice.</body></html>']);
    expect((await fetch(`${server.url}/_matrix/consent?v=9.9`)).status).toBe(404);

    // The dummy stage first is out of order.
    const early = await client.request('POST', '/register', { json: { ...json, auth: { type: 'm.login.dummy', session } } });
    expect([early.status, early.body.errcode]).toEqual([401, 'M_FORBIDDEN']);
    const robot = await client.request('POST', '/register', { json: { ...json, auth: { type: 'm.login.recaptcha', response: 'robot', session } } });
    expect([robot.status, robot.body.errcode, robot.body.completed]).toEqual([401, 'M_UNAUTHORIZED', undefined]);
    const missing = await client.request('POST', '/register', { json: { ...json, auth: { type: 'm.login.recaptcha', session } } });
    expect([missing.status, missing.body.errcode]).toEqual([401, 'M_CAPTCHA_NEEDED']);
    const solved = await client.request('POST', '/register', { json: { ...json, auth: { type: 'm.login.recaptcha', response: 'solved', session } } });
    expect([solved.status, solved.body.completed]).toEqual([401, ['m.login.recaptcha']]);
    const last = verifications.at(-1);
    expect([last?.get('secret'), last?.get('response'), last?.get('remoteip')]).toEqual(['private-key', 'solved', expect.stringContaining('127.0.0.1')]);
    const agreed = await client.request('POST', '/register', { json: { ...json, auth: { type: 'm.login.terms', session } } });
    expect([agreed.status, agreed.body.completed]).toEqual([401, ['m.login.recaptcha', 'm.login.terms']]);
    const done = await client.ok('POST', '/register', { json: { ...json, auth: { type: 'm.login.dummy', session } } });
    expect(done.user_id).toBe(`@human:${server.serverName}`);
  });

  it('completes the captcha and the terms on their fallback pages for clients that cannot (§ Fallback)', async () => {
    const json = { username: 'browser', password: 'pw-browser' };
    const session = (await client.request('POST', '/register', { json })).body.session as string;
    const fallback = (type: string, query = `?session=${e(session)}`) => `${server.url}/_matrix/client/v3/auth/${type}/fallback/web${query}`;
    const post = (type: string, form: Record<string, string>) => fetch(fallback(type, ''), {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(),
    });

    const captchaPage = await fetch(fallback('m.login.recaptcha'));
    expect([captchaPage.status, captchaPage.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    const captchaHtml = await captchaPage.text();
    expect(captchaHtml).toContain('data-sitekey="public-key"');
    expect(captchaHtml).toContain(`name="session" value="${session}"`);
    // The terms come second: not before the captcha is solved.
    expect((await post('m.login.terms', { session })).status).toBe(403);
    const robot = await post('m.login.recaptcha', { session, 'g-recaptcha-response': 'robot' });
    expect([robot.status, await robot.text()]).toEqual([200, expect.stringContaining('class="error"')]);
    const solved = await post('m.login.recaptcha', { session, 'g-recaptcha-response': 'solved' });
    expect(await solved.text()).toContain('authDone');

    const termsHtml = await (await fetch(fallback('m.login.terms'))).text();
    expect(termsHtml).toContain(`href="${server.url}/_matrix/consent?v=1.0"`);
    expect(await (await post('m.login.terms', { session })).text()).toContain('authDone');
    // The client retries with the session alone: both stages are done.
    const retry = await client.request('POST', '/register', { json: { ...json, auth: { session } } });
    expect([retry.status, retry.body.completed]).toEqual([401, ['m.login.recaptcha', 'm.login.terms']]);
    expect((await client.ok('POST', '/register', { json: { ...json, auth: { type: 'm.login.dummy', session } } })).user_id)
      .toBe(`@browser:${server.serverName}`);

    // A page for a stage without one, a missing or unknown session.
    expect((await fetch(fallback('m.login.password'))).status).toBe(404);
    expect((await fetch(fallback('m.login.recaptcha', ''))).status).toBe(400);
    expect((await post('m.login.recaptcha', { session: 'nope', 'g-recaptcha-response': 'solved' })).status).toBe(400);
    // What the page shows of the session is escaped.
    expect(await (await fetch(fallback('m.login.terms', `?session=${e('"><script>x</script>')}`))).text()).not.toContain('<script>x');
  });
});
