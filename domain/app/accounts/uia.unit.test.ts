import { describe, expect, it } from 'vitest';
import { createAccounts } from './accounts.ts';
import { createTestContext } from '../../../test/builders/index.ts';
import { PASSWORD_FLOWS, UiaChallenge, userInteractiveAuth } from './uia.ts';

const setup = async () => {
  const ctx = createTestContext();
  const accounts = createAccounts(ctx);
  await accounts.register({ kind: 'user', username: 'alice', password: 'pw', inhibitLogin: true, auth: { type: 'm.login.dummy' } });
  await accounts.register({ kind: 'user', username: 'bob', password: 'pw2', inhibitLogin: true, auth: { type: 'm.login.dummy' } });
  return ctx;
};

const caught = async (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  );

const passwordAuth = (session: string, user: string, password: string) => ({
  type: 'm.login.password',
  session,
  identifier: { type: 'm.id.user', user },
  password,
});

describe('user-interactive auth with m.login.password', () => {
  it('repeats the 401 body with errcode on a wrong password, then completes', async () => {
    const ctx = await setup();
    const request = { operation: 'op', flows: PASSWORD_FLOWS, userId: '@alice:example.org' };
    const first = (await caught(userInteractiveAuth(ctx, { ...request, auth: undefined }))) as UiaChallenge;
    expect(first.body).toEqual({ flows: [{ stages: ['m.login.password'] }], params: {}, session: expect.any(String) });
    const session = first.body.session as string;

    const wrong = (await caught(userInteractiveAuth(ctx, { ...request, auth: passwordAuth(session, 'alice', 'bad') }))) as UiaChallenge;
    expect(wrong).toBeInstanceOf(UiaChallenge);
    expect(wrong.body).toEqual({ ...first.body, errcode: 'M_FORBIDDEN', error: 'Invalid password' });

    const done = await userInteractiveAuth(ctx, { ...request, auth: passwordAuth(session, '@alice:example.org', 'pw') });
    expect(done.completed).toEqual(['m.login.password']);
    // A completed stage is not re-checked: a retry with only the session succeeds too.
    await expect(userInteractiveAuth(ctx, { ...request, auth: { session } })).resolves.toMatchObject({ sessionId: session });
  });

  it("refuses another user's password", async () => {
    const ctx = await setup();
    const request = { operation: 'op', flows: PASSWORD_FLOWS, userId: '@alice:example.org' };
    const first = (await caught(userInteractiveAuth(ctx, { ...request, auth: undefined }))) as UiaChallenge;
    const error = (await caught(
      userInteractiveAuth(ctx, { ...request, auth: passwordAuth(first.body.session as string, 'bob', 'pw2') }),
    )) as UiaChallenge;
    expect(error.body).toMatchObject({ errcode: 'M_FORBIDDEN', session: first.body.session });
  });

  it('rejects a stage that is not offered, keeping the session', async () => {
    const ctx = await setup();
    const request = { operation: 'op', flows: PASSWORD_FLOWS, userId: '@alice:example.org' };
    const error = (await caught(userInteractiveAuth(ctx, { ...request, auth: { type: 'm.login.dummy' } }))) as UiaChallenge;
    expect(error).toBeInstanceOf(UiaChallenge);
    expect(error.body).toMatchObject({ errcode: 'M_FORBIDDEN', flows: [{ stages: ['m.login.password'] }] });
  });

  it('binds a session to its operation, its user and its lifetime', async () => {
    const ctx = await setup();
    const request = { operation: 'op', flows: PASSWORD_FLOWS, userId: '@alice:example.org' };
    const first = (await caught(userInteractiveAuth(ctx, { ...request, auth: undefined }))) as UiaChallenge;
    const session = first.body.session as string;
    await expect(userInteractiveAuth(ctx, { ...request, operation: 'other', auth: { session } })).rejects.toMatchObject({
      errcode: 'M_UNKNOWN',
      status: 400,
    });
    await expect(userInteractiveAuth(ctx, { ...request, userId: '@bob:example.org', auth: { session } })).rejects.toMatchObject({
      errcode: 'M_UNKNOWN',
    });
    ctx.clock.advance(15 * 60_000);
    await expect(userInteractiveAuth(ctx, { ...request, auth: passwordAuth(session, 'alice', 'pw') })).rejects.toMatchObject({
      errcode: 'M_UNKNOWN',
    });
  });

  it('enforces stage order within a flow', async () => {
    const ctx = await setup();
    const request = { operation: 'op', flows: [['m.login.dummy', 'm.login.password']], userId: '@alice:example.org' };
    const first = (await caught(userInteractiveAuth(ctx, { ...request, auth: undefined }))) as UiaChallenge;
    const session = first.body.session as string;
    const outOfOrder = (await caught(userInteractiveAuth(ctx, { ...request, auth: passwordAuth(session, 'alice', 'pw') }))) as UiaChallenge;
    expect(outOfOrder.body).toMatchObject({ errcode: 'M_FORBIDDEN' });
    const afterDummy = (await caught(userInteractiveAuth(ctx, { ...request, auth: { type: 'm.login.dummy', session } }))) as UiaChallenge;
    expect(afterDummy.body).toEqual({ ...first.body, completed: ['m.login.dummy'] });
    await expect(userInteractiveAuth(ctx, { ...request, auth: passwordAuth(session, 'alice', 'pw') })).resolves.toMatchObject({
      completed: ['m.login.dummy', 'm.login.password'],
    });
  });
});
