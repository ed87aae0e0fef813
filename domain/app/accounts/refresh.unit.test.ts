// Refresh tokens (refresh.yaml, client-server-api § Refreshing access tokens) with a settable clock.
import { describe, expect, it } from 'vitest';
import { createAccounts } from './accounts.ts';
import { createTestContext, guarded } from '../../../test/builders/index.ts';

const setup = async () => {
  const ctx = createTestContext({ refreshableAccessTokenLifetimeMs: 60_000 });
  const accounts = createAccounts(ctx);
  await accounts.register({ kind: 'user', username: 'alice', password: 'pw', inhibitLogin: true, request: guarded({ type: 'm.login.dummy' }) });
  return { ctx, accounts };
};

describe('refresh tokens', () => {
  it('are issued only on request; refreshable access tokens expire into a soft logout', async () => {
    const { ctx, accounts } = await setup();
    const plain = await accounts.login({ type: 'm.login.password', user: 'alice', password: 'pw' });
    expect(plain.refreshToken).toBeUndefined();
    const session = await accounts.login({ type: 'm.login.password', user: 'alice', password: 'pw', refresh_token: true });
    expect(session).toMatchObject({ refreshToken: expect.any(String), expiresInMs: 60_000 });
    ctx.clock.advance(59_999);
    await expect(accounts.authenticate(session.accessToken)).resolves.toMatchObject({ userId: '@alice:example.org' });
    ctx.clock.advance(1);
    await expect(accounts.authenticate(session.accessToken)).rejects.toMatchObject({
      errcode: 'M_UNKNOWN_TOKEN', status: 401, extra: { soft_logout: true },
    });
    await expect(accounts.authenticate(plain.accessToken)).resolves.toBeDefined();

    const refreshed = await accounts.refresh(session.refreshToken!);
    expect(refreshed).toEqual({ access_token: expect.any(String), refresh_token: expect.any(String), expires_in_ms: 60_000 });
    await expect(accounts.authenticate(refreshed.access_token)).resolves.toMatchObject({ deviceId: session.deviceId });
  });

  it('keep the old refresh token until the new access token is used, then revoke it', async () => {
    const { accounts } = await setup();
    const session = await accounts.login({ type: 'm.login.password', user: 'alice', password: 'pw', refresh_token: true });
    const first = await accounts.refresh(session.refreshToken!);
    // The answer was lost: the client repeats the refresh, superseding the first answer.
    const second = await accounts.refresh(session.refreshToken!);
    await expect(accounts.authenticate(first.access_token)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
    await expect(accounts.authenticate(session.accessToken)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
    await accounts.authenticate(second.access_token);
    await expect(accounts.refresh(session.refreshToken!)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', status: 401 });
    await expect(accounts.refresh(second.refresh_token)).resolves.toBeDefined();
    await expect(accounts.refresh('strata_rt_unknown')).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
  });

  it('end with the device', async () => {
    const { accounts } = await setup();
    const session = await accounts.login({ type: 'm.login.password', user: 'alice', password: 'pw', refresh_token: true });
    await accounts.logout(await accounts.authenticate(session.accessToken));
    await expect(accounts.refresh(session.refreshToken!)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
  });
});
