import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAccounts } from './accounts.ts';
import { sharedSecretMac } from './sharedSecret.ts';
import { createTestContext } from '../../../test/builders/index.ts';

const SECRET = 'shhh';

describe('shared-secret registration', () => {
  it('computes the MAC as Synapse documents it', () => {
    const expected = createHmac('sha1', SECRET).update('n\u0000u\u0000p\u0000admin\u0000bot').digest('hex');
    expect(sharedSecretMac(SECRET, { nonce: 'n', username: 'u', password: 'p', admin: true, userType: 'bot' })).toBe(expected);
    const plain = createHmac('sha1', SECRET).update('n\u0000u\u0000p\u0000notadmin').digest('hex');
    expect(sharedSecretMac(SECRET, { nonce: 'n', username: 'u', password: 'p', admin: false })).toBe(plain);
  });

  it('registers an admin with a fresh nonce, once', async () => {
    const ctx = createTestContext({ registrationSharedSecret: SECRET });
    const accounts = createAccounts(ctx);
    const nonce = await accounts.newRegistrationNonce();
    const request = { nonce, username: 'root', password: 'pw', admin: true, displayName: 'Root' };
    const result = await accounts.registerWithSharedSecret({ ...request, mac: sharedSecretMac(SECRET, request) });
    expect(result).toMatchObject({ userId: '@root:example.org', homeServer: 'example.org' });
    expect(await ctx.store.getUser('@root:example.org')).toMatchObject({ isAdmin: true });
    expect(await accounts.getProfile('@root:example.org')).toEqual({ displayname: 'Root' });
    await expect(accounts.authenticate(result.accessToken)).resolves.toMatchObject({ userId: '@root:example.org' });
    await expect(
      accounts.registerWithSharedSecret({ ...request, username: 'other', mac: sharedSecretMac(SECRET, { ...request, username: 'other' }) }),
    ).rejects.toMatchObject({ errcode: 'M_UNKNOWN', status: 400 });
  });

  it('spends the nonce on a wrong MAC and refuses expired nonces', async () => {
    const ctx = createTestContext({ registrationSharedSecret: SECRET });
    const accounts = createAccounts(ctx);
    const nonce = await accounts.newRegistrationNonce();
    const request = { nonce, username: 'root', password: 'pw', admin: false };
    await expect(accounts.registerWithSharedSecret({ ...request, mac: sharedSecretMac('wrong', request) })).rejects.toMatchObject({
      errcode: 'M_FORBIDDEN',
      status: 403,
    });
    await expect(accounts.registerWithSharedSecret({ ...request, mac: sharedSecretMac(SECRET, request) })).rejects.toMatchObject({
      errcode: 'M_UNKNOWN',
    });
    const stale = await accounts.newRegistrationNonce();
    ctx.clock.advance(60_000);
    const late = { ...request, nonce: stale };
    await expect(accounts.registerWithSharedSecret({ ...late, mac: sharedSecretMac(SECRET, late) })).rejects.toMatchObject({
      errcode: 'M_UNKNOWN',
    });
  });

  it('validates the username and refuses taken ids', async () => {
    const accounts = createAccounts(createTestContext({ registrationSharedSecret: SECRET }));
    const attempt = async (username: string) => {
      const request = { nonce: await accounts.newRegistrationNonce(), username, password: 'pw', admin: false };
      return accounts.registerWithSharedSecret({ ...request, mac: sharedSecretMac(SECRET, request) });
    };
    await attempt('taken');
    await expect(attempt('taken')).rejects.toMatchObject({ errcode: 'M_USER_IN_USE', status: 400 });
    await expect(attempt('bad name')).rejects.toMatchObject({ errcode: 'M_INVALID_USERNAME', status: 400 });
  });

  it('is disabled without a shared secret', async () => {
    const accounts = createAccounts(createTestContext());
    await expect(accounts.newRegistrationNonce()).rejects.toMatchObject({ status: 400 });
  });
});
