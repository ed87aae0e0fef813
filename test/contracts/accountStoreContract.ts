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

    it('hands out increasing numeric guest localparts and upgrades a guest once, revoking its tokens', async () => {
      const { store, alice, bob, id } = await fresh();
      const first = Number(await store.nextGuestLocalpart());
      expect(Number.isInteger(first)).toBe(true);
      expect(Number(await store.nextGuestLocalpart())).toBeGreaterThan(first);
      await store.createUser(user(alice, { passwordHash: null, isGuest: true }));
      await store.ensureDevice(alice, 'G', undefined, 1);
      await store.addAccessToken(`${id}guest`, { userId: alice, deviceId: 'G', isGuest: true }, 1);
      expect(await store.findAccessToken(`${id}guest`)).toEqual({ userId: alice, deviceId: 'G', isGuest: true });
      expect(await store.upgradeGuest(alice, 'hash2')).toBe(true);
      expect(await store.getUser(alice)).toMatchObject({ passwordHash: 'hash2', isGuest: false });
      expect(await store.findAccessToken(`${id}guest`)).toBeUndefined();
      expect(await store.upgradeGuest(alice, 'hash3')).toBe(false);
      await store.createUser(user(bob));
      expect(await store.upgradeGuest(bob, 'hash3')).toBe(false);
      expect((await store.getUser(bob))?.passwordHash).toBe('hash');
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
      await store.recordDeviceSeen(alice, 'A', { ip: '192.0.2.1', userAgent: 'Element/1.0' }, 5000);
      expect(await store.getDevice(alice, 'A')).toEqual({
        userId: alice,
        deviceId: 'A',
        displayName: 'Laptop',
        lastSeenIp: '192.0.2.1',
        lastSeenTs: 5000,
      });
      expect(await store.getDevice(alice, 'Z')).toBeUndefined();
    });

    it('keeps one connection per device and address, with its last User-Agent, gone with the device', async () => {
      const { store, alice } = await fresh();
      await store.createUser(user(alice));
      await store.ensureDevice(alice, 'A', undefined, 1);
      await store.ensureDevice(alice, 'B', undefined, 1);
      await store.recordDeviceSeen(alice, 'A', { ip: '192.0.2.1', userAgent: 'Element/1.0' }, 5000);
      await store.recordDeviceSeen(alice, 'A', { ip: '192.0.2.1', userAgent: 'Element/1.1' }, 6000);
      // An older report (another process) does not move it back.
      await store.recordDeviceSeen(alice, 'A', { ip: '192.0.2.1', userAgent: 'old' }, 5800);
      await store.recordDeviceSeen(alice, 'A', { ip: '192.0.2.2' }, 5500);
      await store.recordDeviceSeen(alice, 'B', { ip: '192.0.2.3', userAgent: 'curl' }, 7000);
      await store.recordDeviceSeen(alice, 'Z', { ip: '192.0.2.4', userAgent: 'ghost' }, 8000);
      expect(await store.listConnections(alice)).toEqual([
        { deviceId: 'B', ip: '192.0.2.3', userAgent: 'curl', lastSeen: 7000 },
        { deviceId: 'A', ip: '192.0.2.1', userAgent: 'Element/1.1', lastSeen: 6000 },
        { deviceId: 'A', ip: '192.0.2.2', userAgent: '', lastSeen: 5500 },
      ]);
      await store.deleteDevices(alice, ['B']);
      expect((await store.listConnections(alice)).map((c) => c.deviceId)).toEqual(['A', 'A']);
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

    it('rotates refresh tokens: the replaced one lives until the new tokens are used', async () => {
      const { store, alice, id } = await fresh();
      await store.createUser(user(alice));
      await store.ensureDevice(alice, 'A', undefined, 1);
      const base = { userId: alice, deviceId: 'A', isGuest: false };
      await store.addRefreshToken(`${id}r0`, { userId: alice, deviceId: 'A' }, 1);
      await store.addAccessToken(`${id}t0`, { ...base, expiresTs: 100, refreshTokenHash: `${id}r0` }, 1);
      expect(await store.findAccessToken(`${id}t0`)).toEqual({ ...base, expiresTs: 100, refreshTokenHash: `${id}r0` });
      expect(await store.refreshSession(`${id}unknown`, { refreshTokenHash: `${id}x`, accessTokenHash: `${id}y`, accessExpiresTs: 1 }, 2))
        .toBeUndefined();

      const next = (n: number) => ({ refreshTokenHash: `${id}r${n}`, accessTokenHash: `${id}t${n}`, accessExpiresTs: 100 + n });
      expect(await store.refreshSession(`${id}r0`, next(1), 2)).toEqual({ ...base, expiresTs: 101, refreshTokenHash: `${id}r1`, replacesRefreshToken: true });
      expect(await store.findAccessToken(`${id}t0`)).toBeUndefined();
      expect(await store.findAccessToken(`${id}t1`)).toEqual({ ...base, expiresTs: 101, refreshTokenHash: `${id}r1`, replacesRefreshToken: true });
      // r0 used again before r1 or t1 were: r1 and t1 are superseded by r2 and t2.
      expect(await store.refreshSession(`${id}r0`, next(2), 3)).toBeDefined();
      expect(await store.findAccessToken(`${id}t1`)).toBeUndefined();
      expect(await store.refreshSession(`${id}r1`, next(9), 3)).toBeUndefined();
      // Using t2 retires r0.
      await store.retireReplacedRefreshToken(`${id}r2`);
      expect(await store.findAccessToken(`${id}t2`)).toEqual({ ...base, expiresTs: 102, refreshTokenHash: `${id}r2` });
      expect(await store.refreshSession(`${id}r0`, next(8), 4)).toBeUndefined();
      // Using r2 itself would have too; and a device's refresh tokens go with its tokens.
      expect(await store.refreshSession(`${id}r2`, next(3), 4)).toBeDefined();
      await store.deleteAccessTokensOfDevice(alice, 'A');
      expect(await store.findAccessToken(`${id}t3`)).toBeUndefined();
      expect(await store.refreshSession(`${id}r3`, next(4), 5)).toBeUndefined();
    });

    it('keeps user-interactive auth sessions until deleted or expired', async () => {
      const { store, alice, id } = await fresh();
      await store.createUiaSession({ sessionId: `${id}s1`, operation: 'register', completed: [], createdTs: 100, data: {} });
      await store.createUiaSession({ sessionId: `${id}s2`, operation: 'password', userId: alice, completed: [], createdTs: 200, data: {} });
      await store.updateUiaSession(`${id}s1`, ['m.login.dummy'], undefined);
      await store.setUiaSessionData(`${id}s1`, 'registered_user_id', alice);
      await store.setUiaSessionData(`${id}s1`, 'other', { n: 1 });
      expect(await store.getUiaSession(`${id}s1`)).toEqual({
        sessionId: `${id}s1`,
        operation: 'register',
        completed: ['m.login.dummy'],
        createdTs: 100,
        data: { registered_user_id: alice, other: { n: 1 } },
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

    it('deactivates a user: flagged, password forgotten, id still taken', async () => {
      const { store, alice, bob } = await fresh();
      await store.createUser(user(alice));
      await store.createUser(user(bob));
      expect((await store.getUser(alice))?.deactivated ?? false).toBe(false);
      await store.deactivateUser(alice);
      expect(await store.getUser(alice)).toMatchObject({ userId: alice, passwordHash: null, deactivated: true });
      expect((await store.getUser(bob))?.deactivated ?? false).toBe(false);
      expect(await store.createUser(user(alice))).toBe(false);
    });

    it('locks and suspends an account reversibly, and reports both with its tokens', async () => {
      const { store, alice, bob, id } = await fresh();
      await store.createUser(user(alice));
      await store.createUser(user(bob, { isAdmin: true }));
      await store.ensureDevice(alice, 'A', undefined, 1);
      await store.ensureDevice(bob, 'A', undefined, 1);
      await store.addAccessToken(`${id}admin`, { userId: bob, deviceId: 'A', isGuest: false }, 1);
      expect(await store.findAccessToken(`${id}admin`)).toEqual({ userId: bob, deviceId: 'A', isGuest: false, isAdmin: true });
      await store.addAccessToken(`${id}lock`, { userId: alice, deviceId: 'A', isGuest: false }, 1);
      await store.setUserLocked(alice, true);
      expect(await store.getUser(alice)).toMatchObject({ locked: true });
      expect(await store.findAccessToken(`${id}lock`)).toEqual({ userId: alice, deviceId: 'A', isGuest: false, locked: true });
      await store.setUserSuspended(alice, true);
      await store.setUserLocked(alice, true);
      expect(await store.findAccessToken(`${id}lock`)).toEqual({ userId: alice, deviceId: 'A', isGuest: false, locked: true, suspended: true });
      await store.setUserLocked(alice, false);
      expect(await store.getUser(alice)).toEqual({ userId: alice, passwordHash: 'hash', isGuest: false, isAdmin: false, createdTs: 1000, suspended: true });
      await store.setUserSuspended(alice, false);
      expect(await store.findAccessToken(`${id}lock`)).toEqual({ userId: alice, deviceId: 'A', isGuest: false });
      expect(await store.getUser(bob)).toEqual({ userId: bob, passwordHash: 'hash', isGuest: false, isAdmin: true, createdTs: 1000 });
      await store.setUserLocked('@nobody:example.org', true);
      expect(await store.getUser('@nobody:example.org')).toBeUndefined();
    });

    it('finds an OpenID token by hash until it expires', async () => {
      const { store, alice, id } = await fresh();
      await store.addOpenIdToken(`${id}oid1`, alice, 5_000);
      expect(await store.findOpenIdToken(`${id}oid1`, 4_999)).toBe(alice);
      expect(await store.findOpenIdToken(`${id}unknown`, 0)).toBeUndefined();
      expect(await store.findOpenIdToken(`${id}oid1`, 5_000)).toBeUndefined();
    });
  });
};
