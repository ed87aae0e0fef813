/**
 * Behaviour the cross-signing and key backup stores must show, run against PostgreSQL and PGlite
 * by userDataStores.int.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keepStoredRoomKey, type BackedUpRoomKey, type UserDataStores } from '../../domain/app/userData/index.ts';
import type { OpenedStores } from './userDataStoresContract.ts';

const user = (name: string): string => `@${name}-${randomUUID().slice(0, 8)}:example.org`;

const crossSigningKey = (userId: string, usage: string, publicKey: string) => ({
  user_id: userId, usage: [usage], keys: { [`ed25519:${publicKey}`]: publicKey },
});

const roomKey = (sessionId: string, overrides: Partial<BackedUpRoomKey> = {}): BackedUpRoomKey => ({
  roomId: '!room:example.org', sessionId, firstMessageIndex: 5, forwardedCount: 1, isVerified: false,
  sessionData: { ciphertext: `c-${sessionId}`, ephemeral: 'e', mac: 'm' }, ...overrides,
});

export const describeE2eeStoresContract = (name: string, open: () => Promise<OpenedStores>): void => {
  describe(`cross-signing and key backup stores on ${name}`, () => {
    let opened: OpenedStores;
    let stores: UserDataStores;
    beforeAll(async () => {
      opened = await open();
      stores = opened.stores;
    });
    afterAll(() => opened.close());

    it('stores cross-signing keys, recording a device-list change only when they change', async () => {
      const alice = user('alice');
      const master = crossSigningKey(alice, 'master', 'M1');
      const selfSigning = { ...crossSigningKey(alice, 'self_signing', 'S1'), signatures: { [alice]: { 'ed25519:M1': 'sig' } } };
      const before = await stores.keys.currentDeviceListPosition();
      expect(await stores.crossSigning.setKeys(alice, { master, self_signing: selfSigning })).toBe(true);
      const after = await stores.keys.currentDeviceListPosition();
      expect(await stores.keys.deviceListChangesSince(before, after)).toContain(alice);
      expect(await stores.crossSigning.getKeys(alice)).toEqual({ master, self_signing: selfSigning });
      // The same keys again (other property order) change nothing.
      expect(await stores.crossSigning.setKeys(alice, { master: { keys: master.keys, usage: master.usage, user_id: alice } })).toBe(false);
      expect(await stores.keys.currentDeviceListPosition()).toBe(after);
      expect(await stores.crossSigning.getKeys(user('nobody'))).toEqual({});
    });

    it('keeps signatures apart, shows them by signer, and forgets those of replaced keys', async () => {
      const alice = user('alice');
      const bob = user('bob');
      await stores.crossSigning.setKeys(alice, { master: crossSigningKey(alice, 'master', 'AM'), self_signing: crossSigningKey(alice, 'self_signing', 'AS') });
      const bySelfSigning = { targetUserId: alice, targetKeyId: 'DEVICE', signerUserId: alice, signerKeyId: 'ed25519:AS', signature: 's1' };
      const byDevice = { targetUserId: alice, targetKeyId: 'AM', signerUserId: alice, signerKeyId: 'ed25519:DEVICE', signature: 's2' };
      const byBob = { targetUserId: alice, targetKeyId: 'AM', signerUserId: bob, signerKeyId: 'ed25519:BU', signature: 's3' };
      const before = await stores.keys.currentDeviceListPosition();
      await stores.crossSigning.addSignatures([bySelfSigning, byDevice, byBob], [alice, bob]);
      const after = await stores.keys.currentDeviceListPosition();
      expect(new Set(await stores.keys.deviceListChangesSince(before, after))).toEqual(new Set([alice, bob]));
      expect(await stores.crossSigning.signaturesOn(alice, [alice])).toEqual([byDevice, bySelfSigning]);
      expect(await stores.crossSigning.signaturesOn(alice, [alice, bob])).toHaveLength(3);
      expect(await stores.crossSigning.signaturesOn(alice, [])).toEqual([]);
      // A repeat replaces the signature.
      await stores.crossSigning.addSignatures([{ ...bySelfSigning, signature: 's1b' }], []);
      expect((await stores.crossSigning.signaturesOn(alice, [alice])).map((s) => s.signature)).toEqual(['s2', 's1b']);
      // A new self-signing key voids its predecessor's signatures; a new master key those on the old one.
      await stores.crossSigning.setKeys(alice, { self_signing: crossSigningKey(alice, 'self_signing', 'AS2') });
      expect(await stores.crossSigning.signaturesOn(alice, [alice, bob])).toEqual([byDevice, byBob]);
      await stores.crossSigning.setKeys(alice, { master: crossSigningKey(alice, 'master', 'AM2') });
      expect(await stores.crossSigning.signaturesOn(alice, [alice, bob])).toEqual([]);
    });

    it('forgets the signatures of and by a deleted device', async () => {
      const alice = user('alice');
      const onDevice = { targetUserId: alice, targetKeyId: 'DEV', signerUserId: alice, signerKeyId: 'ed25519:SSK', signature: 's1' };
      const byDevice = { targetUserId: alice, targetKeyId: 'MASTER', signerUserId: alice, signerKeyId: 'ed25519:DEV', signature: 's2' };
      const otherDevice = { ...onDevice, targetKeyId: 'DEV2' };
      await stores.crossSigning.addSignatures([onDevice, byDevice, otherDevice], []);
      await stores.keys.deleteDevice(alice, 'DEV');
      expect(await stores.crossSigning.signaturesOn(alice, [alice])).toEqual([otherDevice]);
    });

    it('numbers backup versions per user, never reusing a deleted one', async () => {
      const alice = user('alice');
      expect(await stores.keyBackups.getVersion(alice)).toBeUndefined();
      const first = await stores.keyBackups.createVersion(alice, 'm.megolm_backup.v1.curve25519-aes-sha2', { public_key: 'p1' });
      const second = await stores.keyBackups.createVersion(alice, 'm.megolm_backup.v1.curve25519-aes-sha2', { public_key: 'p2' });
      expect(Number(second)).toBeGreaterThan(Number(first));
      expect(await stores.keyBackups.getVersion(alice)).toEqual({
        version: second, algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2', authData: { public_key: 'p2' }, etag: '0', count: 0,
      });
      expect((await stores.keyBackups.getVersion(alice, first))?.authData).toEqual({ public_key: 'p1' });
      expect(await stores.keyBackups.updateVersion(alice, first, { public_key: 'p1b' })).toBe(true);
      expect((await stores.keyBackups.getVersion(alice, first))?.authData).toEqual({ public_key: 'p1b' });
      expect(await stores.keyBackups.deleteVersion(alice, second)).toBe(true);
      expect(await stores.keyBackups.deleteVersion(alice, second)).toBe(true);
      expect(await stores.keyBackups.getVersion(alice, second)).toBeUndefined();
      expect((await stores.keyBackups.getVersion(alice))?.version).toBe(first);
      expect(await stores.keyBackups.updateVersion(alice, second, {})).toBe(false);
      const third = await stores.keyBackups.createVersion(alice, 'm.megolm_backup.v1.curve25519-aes-sha2', {});
      expect(Number(third)).toBeGreaterThan(Number(second));
      for (const unknown of ['999999', 'abc', '0', '']) {
        expect(await stores.keyBackups.getVersion(alice, unknown)).toBeUndefined();
        expect(await stores.keyBackups.deleteVersion(alice, unknown)).toBe(false);
      }
    });

    it('stores room keys only in the latest version, keeping the better key of a session', async () => {
      const alice = user('alice');
      const old = await stores.keyBackups.createVersion(alice, 'a', {});
      const version = await stores.keyBackups.createVersion(alice, 'a', {});
      expect(await stores.keyBackups.putKeys(alice, old, [roomKey('s1')], keepStoredRoomKey)).toEqual({ latestVersion: version });
      expect(await stores.keyBackups.putKeys(user('nobody'), '1', [roomKey('s1')], keepStoredRoomKey)).toEqual({ latestVersion: undefined });
      const first = await stores.keyBackups.putKeys(alice, version, [roomKey('s1'), roomKey('s2', { roomId: '!other:example.org' })], keepStoredRoomKey);
      expect(first).toEqual({ stored: { etag: '1', count: 2 } });
      // A worse key (higher index) is ignored and leaves the etag alone; a better one replaces.
      expect(await stores.keyBackups.putKeys(alice, version, [roomKey('s1', { firstMessageIndex: 9 })], keepStoredRoomKey))
        .toEqual({ stored: { etag: '1', count: 2 } });
      expect(await stores.keyBackups.putKeys(alice, version, [roomKey('s1', { isVerified: true, firstMessageIndex: 7 })], keepStoredRoomKey))
        .toEqual({ stored: { etag: '2', count: 2 } });
      expect(await stores.keyBackups.getKeys(alice, version, { roomId: '!room:example.org', sessionId: 's1' }))
        .toEqual([roomKey('s1', { isVerified: true, firstMessageIndex: 7 })]);
      expect((await stores.keyBackups.getKeys(alice, version, {})).map((k) => k.sessionId)).toEqual(['s2', 's1']);
      expect(await stores.keyBackups.getKeys(alice, version, { roomId: '!room:example.org' })).toHaveLength(1);
      expect(await stores.keyBackups.getKeys(alice, old, {})).toEqual([]);
      expect((await stores.keyBackups.getVersion(alice))?.count).toBe(2);
    });

    it('deletes room keys by session, room or all, and a version with its keys', async () => {
      const alice = user('alice');
      const version = await stores.keyBackups.createVersion(alice, 'a', {});
      await stores.keyBackups.putKeys(alice, version, [
        roomKey('s1'), roomKey('s2'), roomKey('s3', { roomId: '!other:example.org' }), roomKey('s4', { roomId: '!third:example.org' }),
      ], keepStoredRoomKey);
      expect(await stores.keyBackups.deleteKeys(alice, version, { roomId: '!room:example.org', sessionId: 's1' })).toEqual({ etag: '2', count: 3 });
      expect(await stores.keyBackups.deleteKeys(alice, version, { roomId: '!room:example.org', sessionId: 's1' })).toEqual({ etag: '2', count: 3 });
      expect(await stores.keyBackups.deleteKeys(alice, version, { roomId: '!room:example.org' })).toEqual({ etag: '3', count: 2 });
      expect(await stores.keyBackups.deleteKeys(alice, version, {})).toEqual({ etag: '4', count: 0 });
      await stores.keyBackups.putKeys(alice, version, [roomKey('s5')], keepStoredRoomKey);
      expect(await stores.keyBackups.deleteVersion(alice, version)).toBe(true);
      expect(await stores.keyBackups.getKeys(alice, version, {})).toEqual([]);
      expect(await stores.keyBackups.deleteKeys(alice, version, {})).toBeUndefined();
    });

    it('serialises 20 parallel uploads of one session, keeping the best key', async () => {
      const alice = user('alice');
      const version = await stores.keyBackups.createVersion(alice, 'a', {});
      await Promise.all(Array.from({ length: 20 }, (_, i) =>
        stores.keyBackups.putKeys(alice, version, [roomKey('s', { firstMessageIndex: 20 - i, forwardedCount: i })], keepStoredRoomKey)));
      expect(await stores.keyBackups.getKeys(alice, version, {})).toEqual([roomKey('s', { firstMessageIndex: 1, forwardedCount: 19 })]);
    });
  });
};
