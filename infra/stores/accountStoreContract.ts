/**
 * Behaviour every AccountStore must show, run against PostgreSQL, PGlite and the in-memory store,
 * so the unit tests' fake cannot drift from the real thing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { AccountStore, NewUserAccount } from '../../domain/app/accounts/index.ts';

export interface StoreUnderTest {
  readonly store: AccountStore;
  close(): Promise<void>;
}

const user = (userId: string, fields: Partial<NewUserAccount> = {}): NewUserAccount => ({
  userId,
  passwordHash: 'hash',
  isGuest: false,
  isAdmin: false,
  createdTs: 1000,
  profile: { displayname: userId.slice(1, userId.indexOf(':')) },
  ...fields,
});

export const describeAccountStoreContract = (name: string, open: () => Promise<StoreUnderTest>): void => {
  describe(`AccountStore contract: ${name}`, () => {
    // One store serves every test; each test gets its own ids (also across runs on one database).
    let subject: Promise<StoreUnderTest> | undefined;
    let counter = 0;
    const fresh = async () => {
      subject ??= open();
      const id = `${Date.now().toString(36)}${(counter++).toString(36)}`;
      return { store: (await subject).store, alice: `@alice${id}:example.org`, bob: `@bob${id}:example.org`, id };
    };
    afterAll(async () => {
      await (await subject)?.close();
    });

    it('creates a user once, with its profile', async () => {
      const { store, alice } = await fresh();
      expect(await store.createUser(user(alice, { isAdmin: true, profile: { displayname: 'A', 'm.tz': null } }))).toBe(true);
      expect(await store.createUser(user(alice, { passwordHash: 'other' }))).toBe(false);
      expect(await store.getUser(alice)).toEqual({ userId: alice, passwordHash: 'hash', isGuest: false, isAdmin: true, createdTs: 1000 });
      expect(await store.getProfile(alice)).toEqual({ displayname: 'A', 'm.tz': null });
      await store.setPasswordHash(alice, 'new');
      expect((await store.getUser(alice))?.passwordHash).toBe('new');
      expect(await store.getUser('@nobody:example.org')).toBeUndefined();
    });

    it('keeps profile fields of any JSON type, and tells a missing user from an empty profile', async () => {
      const { store, alice } = await fresh();
      await store.createUser(user(alice, { profile: {} }));
      expect(await store.getProfile(alice)).toEqual({});
      await store.setProfileField(alice, 'avatar_url', 'mxc://x/y');
      await store.setProfileField(alice, 'org.example.obj', { a: [1, 'two', true, null] });
      await store.setProfileField(alice, 'avatar_url', 'mxc://x/z');
      expect(await store.getProfile(alice)).toEqual({ avatar_url: 'mxc://x/z', 'org.example.obj': { a: [1, 'two', true, null] } });
      await store.deleteProfileField(alice, 'org.example.obj');
      expect(await store.getProfile(alice)).toEqual({ avatar_url: 'mxc://x/z' });
      expect(await store.getProfile('@nobody:example.org')).toBeUndefined();
    });

    it('creates devices once, renames them and records when they were seen', async () => {
      const { store, alice } = await fresh();
      await store.createUser(user(alice));
      expect(await store.ensureDevice(alice, 'B', 'Phone', 1)).toEqual({ created: true });
      expect(await store.ensureDevice(alice, 'B', 'Other', 2)).toEqual({ created: false });
      expect(await store.ensureDevice(alice, 'A', undefined, 3)).toEqual({ created: true });
      expect(await store.listDevices(alice)).toEqual([
        { userId: alice, deviceId: 'A' },
        { userId: alice, deviceId: 'B', displayName: 'Phone' },
      ]);
      expect(await store.setDeviceDisplayName(alice, 'A', 'Laptop')).toBe(true);
      expect(await store.setDeviceDisplayName(alice, 'Z', 'None')).toBe(false);
      await store.recordDeviceSeen(alice, 'A', '192.0.2.1', 5000);
      expect(await store.getDevice(alice, 'A')).toEqual({
        userId: alice,
        deviceId: 'A',
        displayName: 'Laptop',
        lastSeenIp: '192.0.2.1',
        lastSeenTs: 5000,
      });
      expect(await store.getDevice(alice, 'Z')).toBeUndefined();
    });

    it('finds tokens by hash and drops them with their devices', async () => {
      const { store, alice, bob, id } = await fresh();
      await store.createUser(user(alice));
      await store.createUser(user(bob));
      for (const device of ['A', 'B', 'C']) await store.ensureDevice(alice, device, undefined, 1);
      await store.ensureDevice(bob, 'A', undefined, 1);
      const owner = (userId: string, deviceId: string) => ({ userId, deviceId, isGuest: false });
      await store.addAccessToken(`${id}a1`, owner(alice, 'A'), 1);
      await store.addAccessToken(`${id}a2`, owner(alice, 'A'), 1);
      await store.addAccessToken(`${id}b`, owner(alice, 'B'), 1);
      await store.addAccessToken(`${id}c`, owner(alice, 'C'), 1);
      await store.addAccessToken(`${id}bob`, owner(bob, 'A'), 1);
      expect(await store.findAccessToken(`${id}a1`)).toEqual(owner(alice, 'A'));

      await store.deleteAccessTokensOfDevice(alice, 'A');
      expect(await store.findAccessToken(`${id}a1`)).toBeUndefined();
      expect(await store.findAccessToken(`${id}a2`)).toBeUndefined();
      expect(await store.getDevice(alice, 'A')).toBeDefined();

      await store.deleteDevices(alice, ['B', 'missing']);
      expect(await store.findAccessToken(`${id}b`)).toBeUndefined();
      await store.deleteOtherDevices(alice, 'C');
      expect((await store.listDevices(alice)).map((d) => d.deviceId)).toEqual(['C']);
      expect(await store.findAccessToken(`${id}c`)).toEqual(owner(alice, 'C'));
      await store.deleteOtherDevices(alice, undefined);
      expect(await store.listDevices(alice)).toEqual([]);
      expect(await store.findAccessToken(`${id}c`)).toBeUndefined();
      expect(await store.findAccessToken(`${id}bob`)).toEqual(owner(bob, 'A'));
    });

    it('keeps user-interactive auth sessions until deleted or expired', async () => {
      const { store, alice, id } = await fresh();
      await store.createUiaSession({ sessionId: `${id}s1`, operation: 'register', completed: [], createdTs: 100 });
      await store.createUiaSession({ sessionId: `${id}s2`, operation: 'password', userId: alice, completed: [], createdTs: 200 });
      await store.updateUiaSession(`${id}s1`, ['m.login.dummy'], undefined);
      expect(await store.getUiaSession(`${id}s1`)).toEqual({
        sessionId: `${id}s1`,
        operation: 'register',
        completed: ['m.login.dummy'],
        createdTs: 100,
      });
      await store.updateUiaSession(`${id}s2`, ['m.login.password'], undefined);
      expect(await store.getUiaSession(`${id}s2`)).toMatchObject({ userId: alice, completed: ['m.login.password'] });
      await store.deleteExpiredUiaSessions(150);
      expect(await store.getUiaSession(`${id}s1`)).toBeUndefined();
      await store.deleteUiaSession(`${id}s2`);
      expect(await store.getUiaSession(`${id}s2`)).toBeUndefined();
    });

    it('consumes a registration nonce once, and only before it expires', async () => {
      const { store, id } = await fresh();
      await store.addRegistrationNonce(`${id}n1`, 1000);
      await store.addRegistrationNonce(`${id}n2`, 1000);
      expect(await store.consumeRegistrationNonce(`${id}n1`, 999)).toBe(true);
      expect(await store.consumeRegistrationNonce(`${id}n1`, 999)).toBe(false);
      expect(await store.consumeRegistrationNonce(`${id}n2`, 1000)).toBe(false);
      expect(await store.consumeRegistrationNonce(`${id}unknown`, 0)).toBe(false);
    });
  });
};
