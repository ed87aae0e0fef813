import { describe, expect, it } from 'vitest';
import { createAccounts, type Accounts } from './accounts.ts';
import { hashAccessToken } from './secrets.ts';
import { createTestContext, guarded, type TestAccountsContext } from '../../../test/builders/index.ts';

const setup = async (): Promise<{ ctx: TestAccountsContext; accounts: Accounts }> => {
  const ctx = createTestContext();
  const accounts = createAccounts(ctx);
  await accounts.register({ kind: 'user', username: 'alice', password: 'pw', inhibitLogin: true, request: guarded({ type: 'm.login.dummy' }) });
  return { ctx, accounts };
};

const passwordLogin = (user: string, password = 'pw', extra: Record<string, string> = {}) => ({
  type: 'm.login.password',
  identifier: { type: 'm.id.user', user },
  password,
  ...extra,
});

describe('login', () => {
  it('offers m.login.password and application services\' login', () => {
    expect(createAccounts(createTestContext()).loginFlows()).toEqual({ flows: [{ type: 'm.login.password' }, { type: 'm.login.application_service' }] });
  });

  it('accepts a localpart, a full user id, capitals and the legacy user field', async () => {
    const { accounts } = await setup();
    for (const body of [
      passwordLogin('alice'),
      passwordLogin('@alice:example.org'),
      passwordLogin('ALICE'),
      { type: 'm.login.password', user: 'alice', password: 'pw' },
    ]) {
      const session = await accounts.login(body);
      expect(session).toMatchObject({ userId: '@alice:example.org', homeServer: 'example.org' });
      expect((await accounts.authenticate(session.accessToken)).deviceId).toBe(session.deviceId);
    }
  });

  it('answers every credential mismatch with 403 M_FORBIDDEN', async () => {
    const { accounts } = await setup();
    for (const body of [passwordLogin('alice', 'wrong'), passwordLogin('bob'), passwordLogin('@alice:other.org')]) {
      await expect(accounts.login(body)).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    }
  });

  it('rejects unknown login types, third-party ids and missing fields', async () => {
    const { accounts } = await setup();
    await expect(accounts.login({ type: 'm.login.token', token: 'x' })).rejects.toMatchObject({ errcode: 'M_UNKNOWN', status: 400 });
    await expect(
      accounts.login({ type: 'm.login.password', identifier: { type: 'm.id.thirdparty', medium: 'email', address: 'a@b.c' }, password: 'pw' }),
    ).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
    await expect(accounts.login({ type: 'm.login.password', password: 'pw' })).rejects.toMatchObject({ errcode: 'M_MISSING_PARAM' });
    await expect(accounts.login({ identifier: { type: 'm.id.user', user: 'alice' }, password: 'pw' })).rejects.toMatchObject({
      errcode: 'M_MISSING_PARAM',
    });
  });

  it('reuses a given device id, invalidating the tokens it had', async () => {
    const { ctx, accounts } = await setup();
    const first = await accounts.login(passwordLogin('alice', 'pw', { device_id: 'LAPTOP', initial_device_display_name: 'Laptop' }));
    const second = await accounts.login(passwordLogin('alice', 'pw', { device_id: 'LAPTOP', initial_device_display_name: 'Ignored' }));
    expect(second.deviceId).toBe('LAPTOP');
    await expect(accounts.authenticate(first.accessToken)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
    await expect(accounts.authenticate(second.accessToken)).resolves.toMatchObject({ deviceId: 'LAPTOP' });
    expect(await ctx.store.listDevices('@alice:example.org')).toMatchObject([{ deviceId: 'LAPTOP', displayName: 'Laptop' }]);
  });

  it('stores only the SHA-256 of tokens', async () => {
    const { ctx, accounts } = await setup();
    const { accessToken } = await accounts.login(passwordLogin('alice'));
    expect(ctx.store.tokenHashes()).toEqual([hashAccessToken(accessToken)]);
    expect(hashAccessToken(accessToken)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('authenticate', () => {
  it('rejects unknown tokens with 401 M_UNKNOWN_TOKEN and soft_logout false', async () => {
    const { accounts } = await setup();
    await expect(accounts.authenticate('nope')).rejects.toMatchObject({
      errcode: 'M_UNKNOWN_TOKEN',
      status: 401,
      extra: { soft_logout: false },
    });
  });

  it('records when and where a device was seen, each connection at most once a minute', async () => {
    const { ctx, accounts } = await setup();
    const { accessToken, deviceId } = await accounts.login(passwordLogin('alice'));
    const t0 = ctx.clock.now();
    await accounts.authenticate(accessToken, { ip: '10.0.0.1', userAgent: 'Element' });
    ctx.clock.advance(1000);
    await accounts.authenticate(accessToken, { ip: '10.0.0.1', userAgent: 'Element' });
    expect(await ctx.store.getDevice('@alice:example.org', deviceId)).toMatchObject({ lastSeenIp: '10.0.0.1', lastSeenTs: t0 });
    // Another address is another connection: recorded at once.
    await accounts.authenticate(accessToken, { ip: '10.0.0.2', userAgent: 'x'.repeat(2000) });
    expect(await ctx.store.getDevice('@alice:example.org', deviceId)).toMatchObject({ lastSeenIp: '10.0.0.2', lastSeenTs: t0 + 1000 });
    ctx.clock.advance(60_000);
    await accounts.authenticate(accessToken, { ip: '10.0.0.1', userAgent: 'Element' });
    expect(await ctx.store.listConnections('@alice:example.org')).toEqual([
      { deviceId, ip: '10.0.0.1', userAgent: 'Element', lastSeen: t0 + 61_000 },
      { deviceId, ip: '10.0.0.2', userAgent: 'x'.repeat(512), lastSeen: t0 + 1000 },
    ]);
  });

  it('whoami reports user, device and guest flag', async () => {
    const { accounts } = await setup();
    const { accessToken, deviceId } = await accounts.login(passwordLogin('alice'));
    expect(accounts.whoami(await accounts.authenticate(accessToken))).toEqual({
      user_id: '@alice:example.org',
      device_id: deviceId,
      is_guest: false,
    });
  });
});

describe('logout', () => {
  it('invalidates the token and deletes its device only', async () => {
    const { ctx, accounts } = await setup();
    const a = await accounts.login(passwordLogin('alice'));
    const b = await accounts.login(passwordLogin('alice'));
    await accounts.logout(await accounts.authenticate(a.accessToken));
    await expect(accounts.authenticate(a.accessToken)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
    await expect(accounts.authenticate(b.accessToken)).resolves.toMatchObject({ deviceId: b.deviceId });
    expect((await ctx.store.listDevices('@alice:example.org')).map((d) => d.deviceId)).toEqual([b.deviceId]);
  });

  it('logout/all invalidates every token and device', async () => {
    const { ctx, accounts } = await setup();
    const a = await accounts.login(passwordLogin('alice'));
    const b = await accounts.login(passwordLogin('alice'));
    await accounts.logoutAll(await accounts.authenticate(a.accessToken));
    for (const token of [a.accessToken, b.accessToken]) {
      await expect(accounts.authenticate(token)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
    }
    expect(await ctx.store.listDevices('@alice:example.org')).toEqual([]);
  });
});
