import { describe, expect, it } from 'vitest';
import { createMemoryAccountStore, guarded } from '../../test/builders/index.ts';
import { MatrixError } from '../../domain/index.ts';
import { createAccounts, type AccountStore } from '../../domain/app/accounts/index.ts';
import { withAccessTokenCache } from './accessTokenCache.ts';
import { cryptoRandom } from './cryptoRandom.ts';

const alice = '@alice:example.org';

/** A memory store with two devices and tokens, counting the lookups that reach it. */
const setUp = async () => {
  const inner = createMemoryAccountStore();
  await inner.createUser({ userId: alice, passwordHash: null, isGuest: false, isAdmin: false, createdTs: 0, profile: {} });
  for (const device of ['D1', 'D2']) {
    await inner.ensureDevice(alice, device, undefined, 0);
    await inner.addAccessToken(`hash-${device}`, { userId: alice, deviceId: device, isGuest: false }, 0);
  }
  let lookups = 0;
  const counted: AccountStore = { ...inner, findAccessToken: (hash) => ((lookups += 1), inner.findAccessToken(hash)) };
  let now = 1_000;
  const cached = withAccessTokenCache(counted, { now: () => now, ttlMs: 3_000 });
  return { inner, cached, lookups: () => lookups, advance: (ms: number) => { now += ms; } };
};

describe('access-token cache', () => {
  it('answers a found token from memory until it expires', async () => {
    const { cached, lookups, advance } = await setUp();
    const owner = { userId: alice, deviceId: 'D1', isGuest: false };
    expect(await cached.findAccessToken('hash-D1')).toEqual(owner);
    expect(await cached.findAccessToken('hash-D1')).toEqual(owner);
    expect(lookups()).toBe(1);
    advance(3_000);
    expect(await cached.findAccessToken('hash-D1')).toEqual(owner);
    expect(lookups()).toBe(2);
  });

  it('never keeps an unknown token, so one issued elsewhere is found at once', async () => {
    const { inner, cached } = await setUp();
    expect(await cached.findAccessToken('hash-new')).toBeUndefined();
    await inner.addAccessToken('hash-new', { userId: alice, deviceId: 'D1', isGuest: false }, 0);
    expect(await cached.findAccessToken('hash-new')).toMatchObject({ deviceId: 'D1' });
  });

  it('forgets tokens at once when this process deletes their device or tokens', async () => {
    const { cached } = await setUp();
    await cached.findAccessToken('hash-D1');
    await cached.findAccessToken('hash-D2');
    await cached.deleteDevices(alice, ['D1']);
    expect(await cached.findAccessToken('hash-D1')).toBeUndefined();
    expect(await cached.findAccessToken('hash-D2')).toMatchObject({ deviceId: 'D2' });
    await cached.deleteAccessTokensOfDevice(alice, 'D2');
    expect(await cached.findAccessToken('hash-D2')).toBeUndefined();
  });

  it('forgets the account\'s tokens at once when it is locked, suspended or released', async () => {
    const { cached } = await setUp();
    await cached.findAccessToken('hash-D1');
    await cached.setUserLocked(alice, true);
    expect(await cached.findAccessToken('hash-D1')).toMatchObject({ locked: true });
    await cached.setUserSuspended(alice, true);
    expect(await cached.findAccessToken('hash-D1')).toMatchObject({ locked: true, suspended: true });
    await cached.setUserLocked(alice, false);
    await cached.setUserSuspended(alice, false);
    expect(await cached.findAccessToken('hash-D1')).toEqual({ userId: alice, deviceId: 'D1', isGuest: false });
  });

  it('forgets every other device on deleteOtherDevices', async () => {
    const { cached } = await setUp();
    await cached.findAccessToken('hash-D1');
    await cached.findAccessToken('hash-D2');
    expect(await cached.deleteOtherDevices(alice, 'D2')).toEqual(['D1']);
    expect(await cached.findAccessToken('hash-D1')).toBeUndefined();
    expect(await cached.findAccessToken('hash-D2')).toMatchObject({ deviceId: 'D2' });
  });

  it('does not keep a lookup that overlapped a deletion', async () => {
    const { cached } = await setUp();
    const lookup = cached.findAccessToken('hash-D1');
    await cached.deleteDevices(alice, ['D1']);
    await lookup;
    expect(await cached.findAccessToken('hash-D1')).toBeUndefined();
  });

  it('sees another process\'s deletion once the entry expires', async () => {
    const { inner, cached, advance } = await setUp();
    await cached.findAccessToken('hash-D1');
    await inner.deleteDevices(alice, ['D1']);
    advance(3_000);
    expect(await cached.findAccessToken('hash-D1')).toBeUndefined();
  });
});

describe('authentication through the cache', () => {
  /** The composition's pairing: the account use-cases over the cached store. */
  const setUpAccounts = async () => {
    let now = 1_000;
    const inner = createMemoryAccountStore();
    const store = withAccessTokenCache(inner, { now: () => now, ttlMs: 3_000 });
    const accounts = createAccounts({
      store, clock: { now: () => now }, random: cryptoRandom, serverName: 'example.org', registration: 'open',
      hasher: { hash: async (password) => password, verify: async (password, hash) => password === hash },
    });
    const { accessToken } = await accounts.register({ kind: 'user', username: 'alice', password: 'pw', inhibitLogin: false, request: guarded({ type: 'm.login.dummy' }) });
    return { inner, store, accounts, token: accessToken!, advance: (ms: number) => { now += ms; } };
  };
  const errcodeOf = (promise: Promise<unknown>) => promise.then(
    () => 'resolved',
    (error: unknown) => (error instanceof MatrixError ? error.errcode : String(error)),
  );

  it('answers repeated requests with one frozen requester carrying the token', async () => {
    const { accounts, token } = await setUpAccounts();
    const first = await accounts.authenticate(token);
    expect(first).toEqual({ userId: alice, deviceId: expect.any(String), isGuest: false, accessToken: token });
    expect(await accounts.authenticate(token)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it('refuses a logged-out token on the very next request', async () => {
    const { accounts, token } = await setUpAccounts();
    const requester = await accounts.authenticate(token);
    await accounts.logout(requester);
    expect(await errcodeOf(accounts.authenticate(token))).toBe('M_UNKNOWN_TOKEN');
  });

  it('sees a lock or a suspension on the very next request, and their release', async () => {
    const { store, accounts, token } = await setUpAccounts();
    await accounts.authenticate(token);
    await store.setUserLocked(alice, true);
    expect(await errcodeOf(accounts.authenticate(token))).toBe('M_USER_LOCKED');
    await store.setUserLocked(alice, false);
    await store.setUserSuspended(alice, true);
    expect(await accounts.authenticate(token)).toMatchObject({ suspended: true });
    await store.setUserSuspended(alice, false);
    expect(await accounts.authenticate(token)).not.toHaveProperty('suspended');
  });

  it('refuses a token another process deleted once the cache entry expires', async () => {
    const { inner, accounts, token, advance } = await setUpAccounts();
    const requester = await accounts.authenticate(token);
    await inner.deleteAccessTokensOfDevice(alice, requester.deviceId);
    // As before the hash was remembered: unseen until the entry's TTL, refused from then on.
    expect(await accounts.authenticate(token)).toBe(requester);
    advance(3_000);
    expect(await errcodeOf(accounts.authenticate(token))).toBe('M_UNKNOWN_TOKEN');
  });
});
