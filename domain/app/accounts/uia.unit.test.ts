import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../json.ts';
import { createAccounts } from './accounts.ts';
import { createTestContext, guarded } from '../../../test/builders/index.ts';
import {
  completeFallbackStage, fallbackStageParams, PASSWORD_FLOWS, registrationFlows, UiaChallenge, userInteractiveAuth, type UiaRequest,
} from './uia.ts';

const setup = async () => {
  const ctx = createTestContext();
  const accounts = createAccounts(ctx);
  await accounts.register({ kind: 'user', username: 'alice', password: 'pw', inhibitLogin: true, request: guarded({ type: 'm.login.dummy' }) });
  await accounts.register({ kind: 'user', username: 'bob', password: 'pw2', inhibitLogin: true, request: guarded({ type: 'm.login.dummy' }) });
  return ctx;
};

const caught = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  );

const challengeOf = async (promise: Promise<unknown>): Promise<UiaChallenge> => {
  const error = await caught(promise);
  expect(error).toBeInstanceOf(UiaChallenge);
  return error as UiaChallenge;
};

const passwordAuth = (session: string, user: string, password: string) => ({
  type: 'm.login.password',
  session,
  identifier: { type: 'm.id.user', user },
  password,
});

/** Alice's request to delete device PHONE, with `auth` when given. */
const aliceRequest = (auth?: JsonObject, params: JsonObject = { devices: ['PHONE'] }): UiaRequest => ({
  request: guarded(auth, params, 'POST', '/_matrix/client/v3/delete_devices'),
  flows: PASSWORD_FLOWS,
  userId: '@alice:example.org',
  bindParams: true,
});

describe('user-interactive auth with m.login.password', () => {
  it('repeats the 401 body with errcode on a wrong password (401, not 403, as the spec and Synapse), then completes', async () => {
    const ctx = await setup();
    const first = await challengeOf(userInteractiveAuth(ctx, aliceRequest()));
    expect(first.status).toBe(401);
    expect(first.body).toEqual({ flows: [{ stages: ['m.login.password'] }], params: {}, session: expect.any(String) });
    const session = first.body.session as string;

    const wrong = await challengeOf(userInteractiveAuth(ctx, aliceRequest(passwordAuth(session, 'alice', 'bad'))));
    expect(wrong.status).toBe(401);
    expect(wrong.body).toEqual({ ...first.body, errcode: 'M_FORBIDDEN', error: 'Invalid password' });

    const done = await userInteractiveAuth(ctx, aliceRequest(passwordAuth(session, '@alice:example.org', 'pw')));
    expect(done.completed).toEqual(['m.login.password']);
    // A completed stage is not re-checked: a retry with only the session succeeds too.
    await expect(userInteractiveAuth(ctx, aliceRequest({ session }))).resolves.toMatchObject({ sessionId: session });
  });

  it('answers 429 once a user failed too often (Synapse`s rc_login.failed_attempts), before checking the password', async () => {
    const ctx = await setup();
    const session = (await challengeOf(userInteractiveAuth(ctx, aliceRequest()))).body.session as string;
    for (let i = 0; i < 3; i++) {
      expect((await challengeOf(userInteractiveAuth(ctx, aliceRequest(passwordAuth(session, 'alice', `bad${i}`))))).body.errcode).toBe('M_FORBIDDEN');
    }
    await expect(userInteractiveAuth(ctx, aliceRequest(passwordAuth(session, 'alice', 'pw')))).rejects.toMatchObject({
      errcode: 'M_LIMIT_EXCEEDED', status: 429, extra: { retry_after_ms: expect.any(Number) },
    });
    ctx.clock.advance(6_000);
    await expect(userInteractiveAuth(ctx, aliceRequest(passwordAuth(session, 'alice', 'pw')))).resolves.toMatchObject({ completed: ['m.login.password'] });
  });

  it("refuses another user's password", async () => {
    const ctx = await setup();
    const first = await challengeOf(userInteractiveAuth(ctx, aliceRequest()));
    const error = await challengeOf(userInteractiveAuth(ctx, aliceRequest(passwordAuth(first.body.session as string, 'bob', 'pw2'))));
    expect(error.body).toMatchObject({ errcode: 'M_FORBIDDEN', session: first.body.session });
  });

  it('answers a stage that is not offered, or an auth dict without a type, with the 401 and the same session', async () => {
    const ctx = await setup();
    const offered = await challengeOf(userInteractiveAuth(ctx, aliceRequest({ type: 'org.example.unknown' })));
    expect(offered.body).toMatchObject({ errcode: 'M_FORBIDDEN', flows: [{ stages: ['m.login.password'] }], session: expect.any(String) });
    const session = offered.body.session as string;
    const untyped = await challengeOf(userInteractiveAuth(ctx, aliceRequest({ session })));
    expect(untyped.body).toEqual({ flows: [{ stages: ['m.login.password'] }], params: {}, session });
  });

  it('binds a session to its user and its lifetime (400 unknown session)', async () => {
    const ctx = await setup();
    const first = await challengeOf(userInteractiveAuth(ctx, aliceRequest()));
    const session = first.body.session as string;
    await expect(userInteractiveAuth(ctx, { ...aliceRequest({ session }), userId: '@bob:example.org' })).rejects.toMatchObject({
      errcode: 'M_UNKNOWN', status: 400,
    });
    await expect(userInteractiveAuth(ctx, aliceRequest({ session: 'nope' }))).rejects.toMatchObject({ errcode: 'M_UNKNOWN', status: 400 });
    ctx.clock.advance(15 * 60_000);
    await expect(userInteractiveAuth(ctx, aliceRequest(passwordAuth(session, 'alice', 'pw')))).rejects.toMatchObject({
      errcode: 'M_UNKNOWN', status: 400,
    });
  });

  it('binds a session to the request: method, path and parameters but the passwords (Synapse`s message, a 401 with a new session)', async () => {
    const ctx = await setup();
    const first = await challengeOf(userInteractiveAuth(ctx, aliceRequest(undefined, { devices: ['PHONE'], password: 'x' })));
    const session = first.body.session as string;
    const auth = passwordAuth(session, 'alice', 'pw');
    const other = (method: string, uri: string, params: JsonObject, with_: JsonObject = auth): UiaRequest =>
      ({ ...aliceRequest(), request: guarded(with_, params, method, uri) });
    const changes: [string, string, JsonObject][] = [
      ['POST', '/_matrix/client/v3/delete_devices', { devices: ['LAPTOP'] }],
      ['POST', '/_matrix/client/r0/delete_devices', { devices: ['PHONE'] }],
      ['DELETE', '/_matrix/client/v3/delete_devices', { devices: ['PHONE'] }],
      ['POST', '/_matrix/client/v3/delete_devices', { devices: ['PHONE'], erase: true }],
    ];
    for (const [method, uri, params] of changes) {
      const refused = await challengeOf(userInteractiveAuth(ctx, other(method, uri, params)));
      expect(refused.body).toEqual({
        flows: [{ stages: ['m.login.password'] }], params: {}, session: expect.any(String),
        errcode: 'M_UNKNOWN', error: 'Requested operation has changed during the UI authentication session.',
      });
      expect(refused.body.session).not.toBe(session);
      // The new session is bound to the changed request: it completes that one.
      const renewed = passwordAuth(refused.body.session as string, 'alice', 'pw');
      await expect(userInteractiveAuth(ctx, other(method, uri, params, renewed))).resolves.toMatchObject({ completed: ['m.login.password'] });
    }
    // Key order does not matter, and a password may be left out of the retry.
    const same = await userInteractiveAuth(ctx, other('POST', '/_matrix/client/v3/delete_devices', { devices: ['PHONE'], new_password: 'y' }));
    expect(same.completed).toEqual(['m.login.password']);
  });

  it('lets registration change its parameters between stages (as Synapse), never its path', async () => {
    const ctx = await setup();
    const flows = registrationFlows(ctx);
    const register = (auth: JsonObject | undefined, params: JsonObject, uri = '/_matrix/client/v3/register'): UiaRequest =>
      ({ request: guarded(auth, params, 'POST', uri), flows, bindParams: false });
    const first = await challengeOf(userInteractiveAuth(ctx, register(undefined, {})));
    const session = first.body.session as string;
    const moved = await challengeOf(userInteractiveAuth(ctx, register({ type: 'm.login.dummy', session }, {}, '/_matrix/client/v1/register')));
    expect(moved.body).toMatchObject({ errcode: 'M_UNKNOWN' });
    await expect(userInteractiveAuth(ctx, register({ type: 'm.login.dummy', session }, { username: 'carol' }))).resolves.toMatchObject({
      completed: ['m.login.dummy'],
    });
  });

  it('enforces stage order within a flow', async () => {
    const ctx = await setup();
    const request = (auth?: JsonObject): UiaRequest => ({ ...aliceRequest(auth), flows: [['m.login.dummy', 'm.login.password']] });
    const first = await challengeOf(userInteractiveAuth(ctx, request()));
    const session = first.body.session as string;
    const outOfOrder = await challengeOf(userInteractiveAuth(ctx, request(passwordAuth(session, 'alice', 'pw'))));
    expect(outOfOrder.body).toMatchObject({ errcode: 'M_FORBIDDEN' });
    const afterDummy = await challengeOf(userInteractiveAuth(ctx, request({ type: 'm.login.dummy', session })));
    expect(afterDummy.body).toEqual({ ...first.body, completed: ['m.login.dummy'] });
    await expect(userInteractiveAuth(ctx, request(passwordAuth(session, 'alice', 'pw')))).resolves.toMatchObject({
      completed: ['m.login.dummy', 'm.login.password'],
    });
  });
});

describe('registration stages', () => {
  const verified: [string, string | undefined][] = [];
  const captcha = {
    publicKey: 'site-key',
    verifier: {
      verify: async (response: string, remoteIp: string | undefined) => {
        verified.push([response, remoteIp]);
        return response === 'solved';
      },
    },
  };
  const terms = { version: '1.0', name: 'Privacy Policy', url: () => 'https://example.org/_matrix/consent?v=1.0' };

  it('puts recaptcha, then terms, in front of every flow (as Synapse) and describes them in params', () => {
    expect(registrationFlows(createTestContext())).toEqual([['m.login.dummy']]);
    expect(registrationFlows(createTestContext({ registrationCaptcha: captcha, registrationTerms: terms }))).toEqual([
      ['m.login.recaptcha', 'm.login.terms', 'm.login.dummy'],
    ]);
  });

  it('verifies the captcha response with the client`s address, then accepts the terms', async () => {
    const ctx = createTestContext({ registrationCaptcha: captcha, registrationTerms: terms });
    const request = (auth?: JsonObject): UiaRequest => ({
      request: { ...guarded(auth, {}, 'POST', '/_matrix/client/v3/register'), clientIp: '192.0.2.7' },
      flows: registrationFlows(ctx),
      bindParams: false,
    });
    const first = await challengeOf(userInteractiveAuth(ctx, request()));
    expect(first.body).toEqual({
      flows: [{ stages: ['m.login.recaptcha', 'm.login.terms', 'm.login.dummy'] }],
      params: {
        'm.login.recaptcha': { public_key: 'site-key' },
        'm.login.terms': { policies: { privacy_policy: { version: '1.0', en: { name: 'Privacy Policy', url: terms.url() } } } },
      },
      session: expect.any(String),
    });
    const session = first.body.session as string;
    const missing = await challengeOf(userInteractiveAuth(ctx, request({ type: 'm.login.recaptcha', session })));
    expect(missing.body).toMatchObject({ errcode: 'M_CAPTCHA_NEEDED' });
    const refused = await challengeOf(userInteractiveAuth(ctx, request({ type: 'm.login.recaptcha', session, response: 'robot' })));
    expect(refused.body).toMatchObject({ errcode: 'M_UNAUTHORIZED', session });
    expect(refused.body.completed).toBeUndefined();
    const solved = await challengeOf(userInteractiveAuth(ctx, request({ type: 'm.login.recaptcha', session, response: 'solved' })));
    expect(solved.body).toMatchObject({ completed: ['m.login.recaptcha'] });
    expect(verified.slice(-2)).toEqual([['robot', '192.0.2.7'], ['solved', '192.0.2.7']]);
    const agreed = await challengeOf(userInteractiveAuth(ctx, request({ type: 'm.login.terms', session })));
    expect(agreed.body).toMatchObject({ completed: ['m.login.recaptcha', 'm.login.terms'] });
    await expect(userInteractiveAuth(ctx, request({ type: 'm.login.dummy', session }))).resolves.toMatchObject({
      completed: ['m.login.recaptcha', 'm.login.terms', 'm.login.dummy'],
    });
  });

  it('completes the captcha and terms out of band (fallback pages), in their flows` order, for live sessions only', async () => {
    const ctx = createTestContext({ registrationCaptcha: captcha, registrationTerms: terms });
    const request = (auth?: JsonObject): UiaRequest => ({
      request: guarded(auth, {}, 'POST', '/_matrix/client/v3/register'), flows: registrationFlows(ctx), bindParams: false,
    });
    const session = (await challengeOf(userInteractiveAuth(ctx, request()))).body.session as string;
    expect(fallbackStageParams(ctx, 'm.login.recaptcha')).toEqual({ public_key: 'site-key' });
    expect(fallbackStageParams(ctx, 'm.login.password')).toBeUndefined();
    await expect(completeFallbackStage(ctx, session, 'm.login.terms', {}, undefined)).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(completeFallbackStage(ctx, 'nope', 'm.login.recaptcha', { response: 'solved' }, undefined)).rejects.toMatchObject({ status: 400 });
    const failed = await completeFallbackStage(ctx, session, 'm.login.recaptcha', { response: 'robot' }, '192.0.2.9');
    expect(failed).toMatchObject({ ok: false, failure: { errcode: 'M_UNAUTHORIZED' } });
    expect(await completeFallbackStage(ctx, session, 'm.login.recaptcha', { response: 'solved' }, '192.0.2.9')).toEqual({ ok: true });
    expect(await completeFallbackStage(ctx, session, 'm.login.terms', {}, undefined)).toEqual({ ok: true });
    const resumed = await challengeOf(userInteractiveAuth(ctx, request({ session })));
    expect(resumed.body.completed).toEqual(['m.login.recaptcha', 'm.login.terms']);
    // A password session offers neither stage.
    const other = await setup();
    const passwordSession = (await challengeOf(userInteractiveAuth(other, aliceRequest()))).body.session as string;
    await expect(completeFallbackStage(other, passwordSession, 'm.login.terms', {}, undefined)).rejects.toMatchObject({ status: 403 });
  });
});
