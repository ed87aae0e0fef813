import { describe, expect, it } from 'vitest';
import { createAccounts } from './accounts.ts';
import type { RegisterCommand } from './register.ts';
import { hashAccessToken } from './secrets.ts';
import type { JsonObject } from '../../json.ts';
import { createTestContext, guarded } from '../../../test/builders/index.ts';
import { UiaChallenge } from './uia.ts';

const challengeOf = async (promise: Promise<unknown>): Promise<UiaChallenge> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(UiaChallenge);
  return error as UiaChallenge;
};

/** `auth` goes into the guarded request's body. */
const command = ({ auth, ...fields }: Partial<RegisterCommand> & { auth?: JsonObject } = {}): RegisterCommand => ({
  kind: 'user',
  username: 'alice',
  password: 'correct horse',
  inhibitLogin: false,
  request: guarded(auth, { username: fields.username ?? 'alice' }, 'POST', '/_matrix/client/v3/register'),
  ...fields,
});

describe('register', () => {
  it('answers a request without auth with a 401 offering m.login.dummy and a session', async () => {
    const accounts = createAccounts(createTestContext());
    const challenge = await challengeOf(accounts.register(command()));
    expect(challenge.status).toBe(401);
    expect(challenge.body).toEqual({ flows: [{ stages: ['m.login.dummy'] }], params: {}, session: expect.any(String) });
  });

  it('registers after the dummy stage and returns a working access token', async () => {
    const ctx = createTestContext();
    const accounts = createAccounts(ctx);
    const { body } = await challengeOf(accounts.register(command()));
    const result = await accounts.register(command({ auth: { type: 'm.login.dummy', session: body.session as string } }));
    expect(result).toEqual({
      userId: '@alice:example.org',
      homeServer: 'example.org',
      accessToken: expect.any(String),
      deviceId: expect.any(String),
    });
    const requester = await accounts.authenticate(result.accessToken as string);
    expect(requester).toMatchObject({ userId: '@alice:example.org', deviceId: result.deviceId, isGuest: false });
    expect(ctx.store.tokenHashes()).toEqual([hashAccessToken(result.accessToken as string)]);
    expect(await accounts.getProfile('@alice:example.org')).toEqual({ displayname: 'alice' });
    expect((await ctx.store.getUser('@alice:example.org'))?.passwordHash).toBe('plain$correct horse');
  });

  it('accepts the dummy stage without a session and honours device_id and its display name', async () => {
    const ctx = createTestContext();
    const accounts = createAccounts(ctx);
    const result = await accounts.register(
      command({ auth: { type: 'm.login.dummy' }, deviceId: 'PHONE', initialDeviceDisplayName: 'Jungle Phone' }),
    );
    expect(result.deviceId).toBe('PHONE');
    expect(await ctx.store.getDevice('@alice:example.org', 'PHONE')).toMatchObject({ displayName: 'Jungle Phone' });
  });

  it('does not log in with inhibit_login', async () => {
    const ctx = createTestContext();
    const result = await createAccounts(ctx).register(command({ inhibitLogin: true, auth: { type: 'm.login.dummy' } }));
    expect(result).toEqual({ userId: '@alice:example.org', homeServer: 'example.org' });
    expect(await ctx.store.listDevices('@alice:example.org')).toEqual([]);
  });

  it('generates a valid localpart when no username is given', async () => {
    const result = await createAccounts(createTestContext()).register(command({ username: undefined, auth: { type: 'm.login.dummy' } }));
    expect(result.userId).toMatch(/^@[a-z0-9]{12}:example\.org$/);
  });

  it('maps a username to lower case', async () => {
    const result = await createAccounts(createTestContext()).register(command({ username: 'Alice', auth: { type: 'm.login.dummy' } }));
    expect(result.userId).toBe('@alice:example.org');
  });

  it('rejects bad usernames with M_INVALID_USERNAME before any stage', async () => {
    const accounts = createAccounts(createTestContext());
    for (const username of ['al ice', 'al:ice', 'ålice', '', 'a'.repeat(250)]) {
      await expect(accounts.register(command({ username }))).rejects.toMatchObject({ errcode: 'M_INVALID_USERNAME', status: 400 });
    }
  });

  it('rejects a taken user id with M_USER_IN_USE before any stage', async () => {
    const accounts = createAccounts(createTestContext());
    await accounts.register(command({ auth: { type: 'm.login.dummy' } }));
    await expect(accounts.register(command())).rejects.toMatchObject({ errcode: 'M_USER_IN_USE', status: 400 });
  });

  it('answers M_USER_IN_USE when the id was taken while the client completed stages', async () => {
    const accounts = createAccounts(createTestContext());
    const { body } = await challengeOf(accounts.register(command()));
    await accounts.register(command({ auth: { type: 'm.login.dummy' } }));
    await expect(accounts.register(command({ auth: { type: 'm.login.dummy', session: body.session as string } }))).rejects.toMatchObject({
      errcode: 'M_USER_IN_USE',
    });
  });

  it('is M_FORBIDDEN when registration is disabled', async () => {
    const accounts = createAccounts(createTestContext({ registration: 'disabled' }));
    await expect(accounts.register(command({ auth: { type: 'm.login.dummy' } }))).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(accounts.checkUsernameAvailable('alice')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
  });

  it('refuses guests with M_GUEST_ACCESS_FORBIDDEN', async () => {
    await expect(createAccounts(createTestContext()).register(command({ kind: 'guest' }))).rejects.toMatchObject({
      errcode: 'M_GUEST_ACCESS_FORBIDDEN',
      status: 403,
    });
  });

  it('requires a password once authentication is complete', async () => {
    const accounts = createAccounts(createTestContext());
    await expect(accounts.register(command({ password: undefined, auth: { type: 'm.login.dummy' } }))).rejects.toMatchObject({
      errcode: 'M_MISSING_PARAM',
    });
  });

  it('answers a retry of a completed session with the account it registered (as Synapse caches it)', async () => {
    const ctx = createTestContext();
    const accounts = createAccounts(ctx);
    const { body } = await challengeOf(accounts.register(command({ username: undefined })));
    const auth = { type: 'm.login.dummy', session: body.session as string };
    const first = await accounts.register(command({ username: undefined, auth }));
    const retry = await accounts.register(command({ username: undefined, auth }));
    expect(retry).toMatchObject({ userId: first.userId, accessToken: expect.any(String) });
    expect(retry.accessToken).not.toBe(first.accessToken);
    // Only the session is needed: the stage is not run again.
    expect(await accounts.register(command({ username: undefined, inhibitLogin: true, auth: { session: body.session as string } })))
      .toEqual({ userId: first.userId, homeServer: 'example.org' });
    expect([...(await ctx.store.listDevices(first.userId))]).toHaveLength(2);
  });

  it('keeps the password of an unfinished registration (hashed) for a later request that leaves it out, as Synapse', async () => {
    const ctx = createTestContext();
    const accounts = createAccounts(ctx);
    const { body } = await challengeOf(accounts.register(command({ password: 'kept secret' })));
    const session = body.session as string;
    expect((await ctx.store.getUiaSession(session))?.data.password_hash).toBe('plain$kept secret');
    // A second incomplete request with another password does not replace it (nor hash again).
    await challengeOf(accounts.register(command({ password: 'other', auth: { session } })));
    const done = await accounts.register(command({ password: undefined, inhibitLogin: true, auth: { type: 'm.login.dummy', session } }));
    expect(done.userId).toBe('@alice:example.org');
    expect((await ctx.store.getUser('@alice:example.org'))?.passwordHash).toBe('plain$kept secret');
  });

  it('registers with the parameters kept from the session when a request sends nothing but auth (as Synapse)', async () => {
    const ctx = createTestContext();
    const accounts = createAccounts(ctx);
    const { body } = await challengeOf(accounts.register({
      ...command({ username: 'kept', deviceId: 'KEPTDEVICE' }),
      request: guarded(undefined, { username: 'kept', password: 'correct horse', device_id: 'KEPTDEVICE' }, 'POST', '/_matrix/client/v3/register'),
    }));
    const onlyAuth = guarded({ type: 'm.login.dummy', session: body.session as string }, {}, 'POST', '/_matrix/client/v3/register');
    const done = await accounts.register({ kind: 'user', inhibitLogin: false, request: onlyAuth });
    expect(done).toMatchObject({ userId: '@kept:example.org', deviceId: 'KEPTDEVICE' });
    expect((await ctx.store.getUser('@kept:example.org'))?.passwordHash).toBe('plain$correct horse');
  });

  it('answers a retry naming the registered username with that account, not M_USER_IN_USE', async () => {
    const accounts = createAccounts(createTestContext());
    const { body } = await challengeOf(accounts.register(command()));
    const auth = { type: 'm.login.dummy', session: body.session as string };
    await accounts.register(command({ auth }));
    await expect(accounts.register(command({ auth, inhibitLogin: true }))).resolves.toEqual({ userId: '@alice:example.org', homeServer: 'example.org' });
  });

  it('refuses a session continued on another endpoint, with a new session for that one', async () => {
    const accounts = createAccounts(createTestContext());
    const { body } = await challengeOf(accounts.register(command()));
    const request = guarded({ type: 'm.login.dummy', session: body.session as string }, {}, 'POST', '/_matrix/client/r0/register');
    const refused = await challengeOf(accounts.register({ ...command(), request }));
    expect(refused.body).toMatchObject({ errcode: 'M_UNKNOWN', error: 'Requested operation has changed during the UI authentication session.' });
    expect(refused.body.session).not.toBe(body.session);
  });
});

describe('register/available', () => {
  it('is true for a free valid name, and the registration errors otherwise', async () => {
    const accounts = createAccounts(createTestContext());
    expect(await accounts.checkUsernameAvailable('alice')).toBe(true);
    await accounts.register(command({ auth: { type: 'm.login.dummy' } }));
    await expect(accounts.checkUsernameAvailable('alice')).rejects.toMatchObject({ errcode: 'M_USER_IN_USE', status: 400 });
    await expect(accounts.checkUsernameAvailable('a#b')).rejects.toMatchObject({ errcode: 'M_INVALID_USERNAME', status: 400 });
  });
});
