// Deactivation and OpenID tokens, the parts HTTP cannot observe: hook order, token expiry.
import { describe, expect, it } from 'vitest';
import { createAccounts } from './accounts.ts';
import { createTestContext, guarded } from '../../../test/builders/index.ts';
import { UiaChallenge } from './uia.ts';

const setup = async () => {
  const events: string[] = [];
  const ctx = createTestContext({
    onDevicesDeleted: (userId, ids) => void events.push(`devices ${userId} ${[...ids].sort().join(',')}`),
    onAccountDeactivated: (userId) => void events.push(`deactivated ${userId}`),
    onAccountErased: (userId) => void events.push(`erased ${userId}`),
  });
  const accounts = createAccounts(ctx);
  await accounts.register({ kind: 'user', username: 'alice', password: 'pw', inhibitLogin: true, request: guarded({ type: 'm.login.dummy' }) });
  const { accessToken } = await accounts.login({ type: 'm.login.password', user: 'alice', password: 'pw', device_id: 'PHONE' });
  return { ctx, accounts, events, alice: await accounts.authenticate(accessToken) };
};

describe('deactivate', () => {
  it('needs the password, then drops devices before telling the hook, and blocks login', async () => {
    const { ctx, accounts, events, alice } = await setup();
    const challenge = await accounts.deactivate(alice, { request: guarded(), erase: false }).catch((e: unknown) => e);
    expect(challenge).toBeInstanceOf(UiaChallenge);
    expect(events).toEqual([]);
    const session = (challenge as UiaChallenge).body.session as string;
    const auth = { type: 'm.login.password', session, identifier: { type: 'm.id.user', user: 'alice' }, password: 'pw' };
    await expect(accounts.deactivate(alice, { request: guarded(auth), erase: false })).resolves.toEqual({ id_server_unbind_result: 'success' });
    expect(events).toEqual(['devices @alice:example.org PHONE', 'deactivated @alice:example.org']);
    expect(await ctx.store.getUser('@alice:example.org')).toMatchObject({ deactivated: true, passwordHash: null });
    await expect(accounts.login({ type: 'm.login.password', user: 'alice', password: 'pw' })).rejects.toMatchObject({
      errcode: 'M_USER_DEACTIVATED', status: 403,
    });
    // The session authorised one deactivation only.
    await expect(accounts.deactivate(alice, { request: guarded({ session }), erase: false })).rejects.toMatchObject({ errcode: 'M_UNKNOWN' });
  });
});

describe('deactivate with erase', () => {
  it('erases after the account left its rooms, and only when asked', async () => {
    const { accounts, events, alice } = await setup();
    const challenge = await accounts.deactivate(alice, { request: guarded(), erase: true }).catch((e: unknown) => e);
    const session = (challenge as UiaChallenge).body.session as string;
    const auth = { type: 'm.login.password', session, identifier: { type: 'm.id.user', user: 'alice' }, password: 'pw' };
    await accounts.deactivate(alice, { request: guarded(auth), erase: true });
    expect(events).toEqual(['devices @alice:example.org PHONE', 'deactivated @alice:example.org', 'erased @alice:example.org']);
  });
});

describe('OpenID tokens', () => {
  it('are exchanged for the user until they expire, and only for oneself', async () => {
    const { ctx, accounts, alice } = await setup();
    const credentials = await accounts.requestOpenIdToken(alice, alice.userId);
    expect(credentials).toMatchObject({ token_type: 'Bearer', matrix_server_name: 'example.org', expires_in: 3600 });
    await expect(accounts.openIdUserInfo(credentials.access_token)).resolves.toEqual({ sub: alice.userId });
    await expect(accounts.authenticate(credentials.access_token)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN' });
    ctx.clock.advance(3_600_000);
    await expect(accounts.openIdUserInfo(credentials.access_token)).rejects.toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', status: 401 });
    await expect(accounts.requestOpenIdToken(alice, '@bob:example.org')).rejects.toMatchObject({ errcode: 'M_FORBIDDEN', status: 403 });
  });
});
