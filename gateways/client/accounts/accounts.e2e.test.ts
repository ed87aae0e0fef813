// The account endpoints over real HTTP, on an app built by createHttpApp with the real argon2
import { createMemoryAccountStore } from '../../../test/builders/index.ts';
// hasher and an in-memory store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccounts, type AccountsContext } from '../../../domain/app/accounts/index.ts';
import { createArgon2PasswordHasher, cryptoRandom, systemClock } from '../../../infra/stores/index.ts';
import { serveTestApp, type TestApp } from '../../../test/harness/index.ts';
import { createAccountsRouter } from './router.ts';

const context = (overrides: Partial<AccountsContext> = {}): AccountsContext => ({
  store: createMemoryAccountStore(),
  // Cheap parameters keep the suite fast; the hasher itself is tested with OWASP's.
  hasher: createArgon2PasswordHasher({ memory: 1024, passes: 2, parallelism: 1 }),
  clock: systemClock,
  random: cryptoRandom,
  serverName: 'example.org',
  registration: 'open',
  ...overrides,
});

const serve = (ctx: AccountsContext, registrationLimit = { perSecond: 100, burst: 100 }) =>
  serveTestApp({
    routers: [createAccountsRouter({ accounts: createAccounts(ctx), rateLimits: { login: null, registration: registrationLimit } })],
  });

interface Reply {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

const call = async (server: TestApp, method: string, path: string, body?: unknown, token?: string): Promise<Reply> => {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown>, headers: response.headers };
};

const V3 = '/_matrix/client/v3';

const registerUser = async (server: TestApp, username: string, password = 'secret pw'): Promise<Record<string, unknown>> => {
  const reply = await call(server, 'POST', `${V3}/register`, { username, password, auth: { type: 'm.login.dummy' } });
  expect(reply.status).toBe(200);
  return reply.body;
};

const passwordAuth = (session: unknown, user: string, password = 'secret pw') => ({
  type: 'm.login.password',
  session,
  identifier: { type: 'm.id.user', user },
  password,
});

describe('client account endpoints', () => {
  let server: TestApp;
  beforeAll(async () => {
    server = await serve(context());
  });
  afterAll(() => server.close());

  it('registers through user-interactive auth', async () => {
    const first = await call(server, 'POST', `${V3}/register`, { username: 'alice', password: 'secret pw' });
    expect(first.status).toBe(401);
    expect(first.body).toEqual({ flows: [{ stages: ['m.login.dummy'] }], params: {}, session: expect.any(String) });
    const done = await call(server, 'POST', `${V3}/register`, {
      username: 'alice',
      password: 'secret pw',
      initial_device_display_name: 'Web',
      auth: { type: 'm.login.dummy', session: first.body.session },
    });
    expect(done.status).toBe(200);
    expect(done.body).toEqual({
      user_id: '@alice:example.org',
      home_server: 'example.org',
      access_token: expect.any(String),
      device_id: expect.any(String),
    });
    const whoami = await call(server, 'GET', `${V3}/account/whoami`, undefined, done.body.access_token as string);
    expect(whoami.body).toEqual({ user_id: '@alice:example.org', device_id: done.body.device_id, is_guest: false });
  });

  it('answers registration errors with the spec’s codes', async () => {
    await registerUser(server, 'taken');
    const cases: [string, unknown, number, string][] = [
      [`${V3}/register`, { username: 'taken', password: 'x' }, 400, 'M_USER_IN_USE'],
      [`${V3}/register`, { username: 'not valid', password: 'x' }, 400, 'M_INVALID_USERNAME'],
      [`${V3}/register?kind=guest`, {}, 403, 'M_GUEST_ACCESS_FORBIDDEN'],
      [`${V3}/register`, 'not json', 400, 'M_NOT_JSON'],
    ];
    for (const [path, body, status, errcode] of cases) {
      const reply = await call(server, 'POST', path, body);
      expect({ path, status: reply.status, errcode: reply.body.errcode }).toEqual({ path, status, errcode });
    }
    expect((await call(server, 'GET', `${V3}/register/available?username=free`)).body).toEqual({ available: true });
    const taken = await call(server, 'GET', `${V3}/register/available?username=taken`);
    expect([taken.status, taken.body.errcode]).toEqual([400, 'M_USER_IN_USE']);
    const missing = await call(server, 'GET', `${V3}/register/available`);
    expect([missing.status, missing.body.errcode]).toEqual([400, 'M_MISSING_PARAM']);
  });

  it('logs in with a password and rejects bad credentials', async () => {
    await registerUser(server, 'bob');
    expect((await call(server, 'GET', `${V3}/login`)).body).toEqual({ flows: [{ type: 'm.login.password' }, { type: 'm.login.application_service' }] });
    const ok = await call(server, 'POST', `${V3}/login`, {
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: '@bob:example.org' },
      password: 'secret pw',
      device_id: 'BOBPHONE',
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ user_id: '@bob:example.org', device_id: 'BOBPHONE', home_server: 'example.org' });
    const bad = await call(server, 'POST', `${V3}/login`, { type: 'm.login.password', user: 'bob', password: 'nope' });
    expect([bad.status, bad.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    const r0 = await call(server, 'POST', '/_matrix/client/r0/login', { type: 'm.login.password', user: 'bob', password: 'secret pw' });
    expect(r0.status).toBe(200);
  });

  it('authenticates by header or deprecated query parameter, and says why it does not', async () => {
    const { access_token: token } = await registerUser(server, 'carol');
    expect((await call(server, 'GET', `${V3}/account/whoami?access_token=${token as string}`)).status).toBe(200);
    const missing = await call(server, 'GET', `${V3}/account/whoami`);
    expect([missing.status, missing.body.errcode]).toEqual([401, 'M_MISSING_TOKEN']);
    const unknown = await call(server, 'GET', `${V3}/account/whoami`, undefined, 'bogus');
    expect(unknown.status).toBe(401);
    expect(unknown.body).toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', soft_logout: false });
  });

  it('manages devices, deleting them behind the password', async () => {
    const { access_token: token, device_id: deviceId } = await registerUser(server, 'dave');
    const t = token as string;
    const second = await call(server, 'POST', `${V3}/login`, { type: 'm.login.password', user: 'dave', password: 'secret pw', device_id: 'OTHER' });
    const listed = await call(server, 'GET', `${V3}/devices`, undefined, t);
    expect((listed.body.devices as { device_id: string }[]).map((d) => d.device_id).sort()).toEqual([deviceId, 'OTHER'].sort());
    expect((await call(server, 'PUT', `${V3}/devices/OTHER`, { display_name: 'Tablet' }, t)).status).toBe(200);
    expect((await call(server, 'GET', `${V3}/devices/OTHER`, undefined, t)).body).toMatchObject({ device_id: 'OTHER', display_name: 'Tablet' });
    const notFound = await call(server, 'GET', `${V3}/devices/NOPE`, undefined, t);
    expect([notFound.status, notFound.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
    expect((await call(server, 'PUT', `${V3}/devices/NOPE`, { display_name: 'x' }, t)).status).toBe(404);

    const challenge = await call(server, 'DELETE', `${V3}/devices/OTHER`, undefined, t);
    expect(challenge.status).toBe(401);
    expect(challenge.body).toMatchObject({ flows: [{ stages: ['m.login.password'] }], session: expect.any(String) });
    const wrong = await call(server, 'DELETE', `${V3}/devices/OTHER`, { auth: passwordAuth(challenge.body.session, 'dave', 'bad') }, t);
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ errcode: 'M_FORBIDDEN', session: challenge.body.session });
    const deleted = await call(server, 'DELETE', `${V3}/devices/OTHER`, { auth: passwordAuth(challenge.body.session, 'dave') }, t);
    expect(deleted.status).toBe(200);
    expect((await call(server, 'GET', `${V3}/account/whoami`, undefined, second.body.access_token as string)).status).toBe(401);

    const bulk = await call(server, 'POST', `${V3}/delete_devices`, { devices: [deviceId] }, t);
    expect(bulk.status).toBe(401);
    const bad = await call(server, 'POST', `${V3}/delete_devices`, { devices: 'x' }, t);
    expect([bad.status, bad.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
  });

  it('changes the password behind user-interactive auth', async () => {
    const { access_token: token } = await registerUser(server, 'erin');
    const challenge = await call(server, 'POST', `${V3}/account/password`, { new_password: 'new pw' }, token as string);
    expect(challenge.status).toBe(401);
    const done = await call(
      server,
      'POST',
      `${V3}/account/password`,
      { new_password: 'new pw', auth: passwordAuth(challenge.body.session, 'erin') },
      token as string,
    );
    expect([done.status, done.body]).toEqual([200, {}]);
    const login = await call(server, 'POST', `${V3}/login`, { type: 'm.login.password', user: 'erin', password: 'new pw' });
    expect(login.status).toBe(200);
  });

  it('reads and writes profiles', async () => {
    const { access_token: token } = await registerUser(server, 'frank');
    await registerUser(server, 'grace');
    const frank = encodeURIComponent('@frank:example.org');
    expect((await call(server, 'GET', `${V3}/profile/${frank}`)).body).toEqual({ displayname: 'frank' });
    expect((await call(server, 'PUT', `${V3}/profile/${frank}/displayname`, { displayname: 'Frank' }, token as string)).status).toBe(200);
    expect((await call(server, 'GET', `${V3}/profile/@frank:example.org/displayname`)).body).toEqual({ displayname: 'Frank' });
    const other = await call(server, 'PUT', `${V3}/profile/@grace:example.org/displayname`, { displayname: 'x' }, token as string);
    expect([other.status, other.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    const unknown = await call(server, 'GET', `${V3}/profile/@nobody:example.org`);
    expect([unknown.status, unknown.body.errcode]).toEqual([404, 'M_NOT_FOUND']);
    const noAuth = await call(server, 'PUT', `${V3}/profile/${frank}/displayname`, { displayname: 'x' });
    expect([noAuth.status, noAuth.body.errcode]).toEqual([401, 'M_MISSING_TOKEN']);
    expect((await call(server, 'DELETE', `${V3}/profile/${frank}/displayname`, undefined, token as string)).status).toBe(200);
    // A known user without a display name: 200 and no field (404 is for unknown users only).
    const deleted = await call(server, 'GET', `${V3}/profile/${frank}/displayname`);
    expect([deleted.status, deleted.body]).toEqual([200, {}]);
  });

  it('logs out one device, then all of them', async () => {
    const { access_token: first } = await registerUser(server, 'heidi');
    const second = (await call(server, 'POST', `${V3}/login`, { type: 'm.login.password', user: 'heidi', password: 'secret pw' })).body;
    const third = (await call(server, 'POST', `${V3}/login`, { type: 'm.login.password', user: 'heidi', password: 'secret pw' })).body;
    expect((await call(server, 'POST', `${V3}/logout`, {}, first as string)).status).toBe(200);
    expect((await call(server, 'GET', `${V3}/account/whoami`, undefined, first as string)).status).toBe(401);
    expect((await call(server, 'GET', `${V3}/account/whoami`, undefined, second.access_token as string)).status).toBe(200);
    expect((await call(server, 'POST', `${V3}/logout/all`, {}, second.access_token as string)).status).toBe(200);
    for (const token of [second.access_token, third.access_token]) {
      expect((await call(server, 'GET', `${V3}/account/whoami`, undefined, token as string)).status).toBe(401);
    }
  });
});

describe('registration policy', () => {
  it('is 403 M_FORBIDDEN when registration is disabled', async () => {
    const server = await serve(context({ registration: 'disabled' }));
    try {
      const reply = await call(server, 'POST', `${V3}/register`, { username: 'x', password: 'y', auth: { type: 'm.login.dummy' } });
      expect([reply.status, reply.body.errcode]).toEqual([403, 'M_FORBIDDEN']);
    } finally {
      await server.close();
    }
  });

  it('rate-limits registration per client with 429 M_LIMIT_EXCEEDED and Retry-After', async () => {
    const server = await serve(context(), { perSecond: 0.1, burst: 2 });
    try {
      for (let i = 0; i < 2; i++) expect((await call(server, 'GET', `${V3}/register/available?username=u${i}`)).status).toBe(200);
      const limited = await call(server, 'GET', `${V3}/register/available?username=u3`);
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: expect.any(Number) });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await server.close();
    }
  });
});
