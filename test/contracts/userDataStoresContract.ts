/**
 * Behaviour every UserDataStores implementation must show, run against PostgreSQL and PGlite by
 * userDataStores.int.test.ts, including the concurrency properties /sync and E2EE rely on.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserDataStores } from '../../domain/app/userData/index.ts';

export interface OpenedStores {
  readonly stores: UserDataStores;
  close(): Promise<void>;
}

/** Unique per run: the PostgreSQL database outlives test runs. */
const user = (name: string): string => `@${name}-${randomUUID().slice(0, 8)}:example.org`;

export const describeUserDataStoresContract = (name: string, open: () => Promise<OpenedStores>): void => {
  describe(`user data stores on ${name}`, () => {
    let opened: OpenedStores;
    let stores: UserDataStores;
    beforeAll(async () => {
      opened = await open();
      stores = opened.stores;
    });
    afterAll(() => opened.close());

    it('stores account data per user and room, and lists changes by position', async () => {
      const alice = user('alice');
      const start = await stores.accountData.currentPosition();
      const first = await stores.accountData.update(alice, null, 'org.example.a', () => ({ a: 1 }));
      await stores.accountData.update(alice, '!room:example.org', 'm.tag', () => ({ tags: { u: {} } }));
      await stores.accountData.update(alice, null, 'org.example.a', (current) => ({ a: (current?.a as number) + 1 }));
      expect(await stores.accountData.get(alice, null, 'org.example.a')).toEqual({ a: 2 });
      expect(await stores.accountData.get(alice, '!room:example.org', 'org.example.a')).toBeUndefined();
      expect(await stores.accountData.update(alice, null, 'org.example.a', () => undefined)).toBeUndefined();
      const end = await stores.accountData.currentPosition();
      expect(end).toBeGreaterThan(start);
      const changes = await stores.accountData.changesSince(alice, start, end);
      expect(changes.map((c) => [c.roomId, c.type, c.content])).toEqual([
        ['!room:example.org', 'm.tag', { tags: { u: {} } }],
        [null, 'org.example.a', { a: 2 }],
      ]);
      expect(await stores.accountData.changesSince(alice, end, end)).toEqual([]);
      expect(await stores.accountData.changesSince(alice, start, first!.position)).toEqual([]);
    });

    it('never lets a reader see a position before the rows below it (40 parallel writers)', async () => {
      const bob = user('bob');
      const start = await stores.accountData.currentPosition();
      const seen: number[] = [];
      let writing = true;
      // While writers run, every position a reader observes must already cover all rows ≤ it.
      const reader = (async () => {
        while (writing) {
          const position = await stores.accountData.currentPosition();
          const rows = await stores.accountData.changesSince(bob, start, position);
          const expected = await stores.accountData.changesSince(bob, start, Number.MAX_SAFE_INTEGER);
          // Rows committed after `position` was read may exist; none at or below it may be missing.
          expect(expected.filter((row) => row.position <= position).length).toBe(rows.length);
          seen.push(position);
        }
      })();
      await Promise.all(Array.from({ length: 40 }, (_, i) => stores.accountData.update(bob, null, `org.example.k${i}`, () => ({ i }))));
      writing = false;
      await reader;
      const end = await stores.accountData.currentPosition();
      expect((await stores.accountData.changesSince(bob, start, end)).length).toBe(40);
      expect(seen.every((position, i) => i === 0 || position >= seen[i - 1]!)).toBe(true);
    });

    it('loses no change when 20 writers change one entry at once', async () => {
      const bob = user('bob');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => stores.accountData.update(bob, '!tags:example.org', 'm.tag', (current) => ({
        tags: { ...(current?.tags as object | undefined), [`u.t${i}`]: { order: i / 20 } },
      }))));
      const stored = await stores.accountData.get(bob, '!tags:example.org', 'm.tag');
      expect(Object.keys(stored?.tags as object).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `u.t${i}`).sort());
      expect(new Set(results.map((result) => result?.position)).size).toBe(20);
      const last = results.reduce((a, b) => ((b?.position ?? 0) > (a?.position ?? 0) ? b : a));
      expect(last?.content).toEqual(stored);
    });

    it('stores filters per user', async () => {
      const carol = user('carol');
      const id = await stores.filters.create(carol, { room: { timeline: { limit: 10 } } });
      expect(await stores.filters.get(carol, id)).toEqual({ room: { timeline: { limit: 10 } } });
      expect(await stores.filters.get(user('dave'), id)).toBeUndefined();
      expect(await stores.filters.get(carol, 'nope')).toBeUndefined();
    });

    it('keeps the latest receipt per user, type and thread', async () => {
      const erin = user('erin');
      const room = `!r${randomUUID().slice(0, 8)}:example.org`;
      const start = await stores.receipts.currentPosition();
      await stores.receipts.put({ roomId: room, receiptType: 'm.read', userId: erin, eventId: '$a', ts: 1 });
      await stores.receipts.put({ roomId: room, receiptType: 'm.read', userId: erin, eventId: '$b', ts: 2 });
      await stores.receipts.put({ roomId: room, receiptType: 'm.read', userId: erin, eventId: '$c', threadId: '$root', ts: 3 });
      const end = await stores.receipts.currentPosition();
      const receipts = await stores.receipts.changesSince([room], start, end);
      expect(receipts.map((r) => [r.eventId, r.threadId])).toEqual([['$b', undefined], ['$c', '$root']]);
      expect(await stores.receipts.changesSince([], start, end)).toEqual([]);
    });

    it('delivers to-device messages once, idempotently per transaction id', async () => {
      const frank = user('frank');
      const sender = { userId: user('grace'), deviceId: 'SENDER' };
      const before = await stores.toDevice.currentPosition();
      const deliveries = [{ userId: frank, deviceId: 'D1', content: { n: 1 } }, { userId: frank, deviceId: 'D2', content: { n: 2 } }];
      const sent = await stores.toDevice.send(sender, 'txn1', 'm.test', deliveries);
      expect(sent.duplicate).toBe(false);
      expect(await stores.toDevice.send(sender, 'txn1', 'm.test', deliveries)).toEqual({ duplicate: true, position: sent.position });
      const upTo = await stores.toDevice.currentPosition();
      const d1 = await stores.toDevice.messagesFor(frank, 'D1', before, upTo, 100);
      expect(d1.map((m) => [m.sender, m.type, m.content])).toEqual([[sender.userId, 'm.test', { n: 1 }]]);
      await stores.toDevice.acknowledge(frank, 'D1', upTo);
      expect(await stores.toDevice.messagesFor(frank, 'D1', 0, upTo, 100)).toEqual([]);
      expect(await stores.toDevice.messagesFor(frank, 'D2', 0, upTo, 100)).toHaveLength(1);
      await stores.toDevice.deleteDevice(frank, 'D2');
      expect(await stores.toDevice.messagesFor(frank, 'D2', 0, upTo, 100)).toEqual([]);
    });

    it('queues each of 20 parallel sends (and retries) exactly once, in position order', async () => {
      const heidi = user('heidi');
      const sender = { userId: user('ivan'), deviceId: 'S' };
      const before = await stores.toDevice.currentPosition();
      await Promise.all(Array.from({ length: 40 }, (_, i) =>
        stores.toDevice.send(sender, `t${i % 20}`, 'm.test', [{ userId: heidi, deviceId: 'D', content: { i: i % 20 } }])));
      const upTo = await stores.toDevice.currentPosition();
      const messages = await stores.toDevice.messagesFor(heidi, 'D', before, upTo, 100);
      expect(messages.map((m) => m.content.i).sort((a, b) => (a as number) - (b as number))).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(messages.every((m, i) => i === 0 || m.position > messages[i - 1]!.position)).toBe(true);
      // Paging with a limit, acknowledging as a syncing client does, yields each message once.
      const received: unknown[] = [];
      let since = before;
      for (;;) {
        await stores.toDevice.acknowledge(heidi, 'D', since);
        const page = await stores.toDevice.messagesFor(heidi, 'D', since, upTo, 7);
        if (page.length === 0) break;
        received.push(...page.map((m) => m.content.i));
        since = page[page.length - 1]!.position;
      }
      expect(received).toHaveLength(20);
      expect(new Set(received).size).toBe(20);
    });

    it('stores device keys verbatim and records device-list changes', async () => {
      const judy = user('judy');
      const keys = { user_id: judy, device_id: 'JD', algorithms: ['m.olm.v1.curve25519-aes-sha2'], keys: { 'ed25519:JD': 'k' },
        signatures: { [judy]: { 'ed25519:JD': 'sig/+=' } } };
      const before = await stores.keys.currentDeviceListPosition();
      expect(await stores.keys.setDeviceKeys(judy, 'JD', keys)).toBe(true);
      expect(await stores.keys.setDeviceKeys(judy, 'JD', { ...keys })).toBe(false);
      expect((await stores.keys.getDeviceKeys(judy, [])).get('JD')).toEqual(keys);
      expect((await stores.keys.getDeviceKeys(judy, ['OTHER'])).size).toBe(0);
      const mid = await stores.keys.currentDeviceListPosition();
      expect(await stores.keys.deviceListChangesSince(before, mid)).toContain(judy);
      await stores.keys.deleteDevice(judy, 'JD');
      expect((await stores.keys.getDeviceKeys(judy, [])).size).toBe(0);
      const after = await stores.keys.currentDeviceListPosition();
      expect(await stores.keys.deviceListChangesSince(mid, after)).toContain(judy);
    });

    it('records a remote user\'s device-list change without keys, and lists a user\'s latest changes newest first', async () => {
      const remote = `@remote-${randomUUID().slice(0, 8)}:remote.example:8448`;
      const local = user('kim');
      expect(await stores.keys.latestDeviceListChanges(remote, 2)).toEqual([]);
      const before = await stores.keys.currentDeviceListPosition();
      const first = await stores.keys.recordDeviceListChange(remote);
      expect(first).toBeGreaterThan(before);
      await stores.keys.setDeviceKeys(local, 'K', { user_id: local, device_id: 'K', algorithms: [], keys: {}, signatures: {} });
      const second = await stores.keys.recordDeviceListChange(remote);
      expect(await stores.keys.currentDeviceListPosition()).toBe(second);
      expect(await stores.keys.deviceListChangesSince(before, second)).toEqual(expect.arrayContaining([remote, local]));
      expect(await stores.keys.latestDeviceListChanges(remote, 2)).toEqual([second, first]);
      expect(await stores.keys.latestDeviceListChanges(remote, 1)).toEqual([second]);
      expect((await stores.keys.getDeviceKeys(remote, [])).size).toBe(0);
    });

    it('hands each one-time key to exactly one of 20 parallel claims, then the fallback key', async () => {
      const mallory = user('mallory');
      const otks = new Map(Array.from({ length: 5 }, (_, i) => [`signed_curve25519:K${i}`, { key: `k${i}` }] as const));
      expect(await stores.keys.addOneTimeKeys(mallory, 'MD', otks)).toEqual([]);
      expect(await stores.keys.addOneTimeKeys(mallory, 'MD', new Map([['signed_curve25519:K0', { key: 'k0' }]]))).toEqual([]);
      expect(await stores.keys.addOneTimeKeys(mallory, 'MD', new Map([['signed_curve25519:K0', { key: 'other' }]])))
        .toEqual(['signed_curve25519:K0']);
      await stores.keys.setFallbackKeys(mallory, 'MD', new Map([['signed_curve25519:F', { key: 'fallback', fallback: true }]]));
      expect(await stores.keys.oneTimeKeyCounts(mallory, 'MD')).toEqual({ signed_curve25519: 5 });
      expect(await stores.keys.unusedFallbackKeyAlgorithms(mallory, 'MD')).toEqual(['signed_curve25519']);
      expect(await stores.keys.keyCounts(mallory, 'MD')).toEqual({ oneTimeKeyCounts: { signed_curve25519: 5 }, unusedFallbackKeyTypes: ['signed_curve25519'] });
      const claims = await Promise.all(Array.from({ length: 20 }, () => stores.keys.claim(mallory, 'MD', 'signed_curve25519')));
      const ids = claims.map((claim) => claim?.keyId);
      const oneTime = ids.filter((id) => id !== 'signed_curve25519:F');
      expect(oneTime.sort()).toEqual([...otks.keys()].sort());
      expect(ids.filter((id) => id === 'signed_curve25519:F')).toHaveLength(15);
      expect(await stores.keys.oneTimeKeyCounts(mallory, 'MD')).toEqual({});
      expect(await stores.keys.unusedFallbackKeyAlgorithms(mallory, 'MD')).toEqual([]);
      expect(await stores.keys.keyCounts(mallory, 'MD')).toEqual({ oneTimeKeyCounts: {}, unusedFallbackKeyTypes: [] });
      expect(await stores.keys.claim(mallory, 'MD', 'curve25519')).toBeUndefined();
    });

    it('answers key counts that follow every write of the device\'s keys, also read while one is in flight', async () => {
      const peggy = user('peggy');
      const counts = () => stores.keys.keyCounts(peggy, 'PD');
      expect(await counts()).toEqual({ oneTimeKeyCounts: {}, unusedFallbackKeyTypes: [] });
      const upload = stores.keys.addOneTimeKeys(peggy, 'PD', new Map([['signed_curve25519:A', { key: 'a' }], ['signed_curve25519:B', { key: 'b' }]]));
      const during = counts();
      await upload;
      await during;
      expect(await counts()).toEqual({ oneTimeKeyCounts: { signed_curve25519: 2 }, unusedFallbackKeyTypes: [] });
      expect(await stores.keys.keyCounts(peggy, 'OTHER')).toEqual({ oneTimeKeyCounts: {}, unusedFallbackKeyTypes: [] });
      await stores.keys.setFallbackKeys(peggy, 'PD', new Map([['signed_curve25519:F', { key: 'f', fallback: true }]]));
      expect(await counts()).toEqual({ oneTimeKeyCounts: { signed_curve25519: 2 }, unusedFallbackKeyTypes: ['signed_curve25519'] });
      await stores.keys.claim(peggy, 'PD', 'signed_curve25519');
      expect(await counts()).toEqual({ oneTimeKeyCounts: { signed_curve25519: 1 }, unusedFallbackKeyTypes: ['signed_curve25519'] });
      await stores.keys.claim(peggy, 'PD', 'signed_curve25519');
      await stores.keys.claim(peggy, 'PD', 'signed_curve25519');
      expect(await counts()).toEqual({ oneTimeKeyCounts: {}, unusedFallbackKeyTypes: [] });
      await stores.keys.addOneTimeKeys(peggy, 'PD', new Map([['signed_curve25519:C', { key: 'c' }]]));
      expect(await counts()).toEqual({ oneTimeKeyCounts: { signed_curve25519: 1 }, unusedFallbackKeyTypes: [] });
      await stores.keys.deleteDevice(peggy, 'PD');
      expect(await counts()).toEqual({ oneTimeKeyCounts: {}, unusedFallbackKeyTypes: [] });
    });

    it('keeps the latest presence per user as a stream', async () => {
      const niaj = user('niaj');
      const start = await stores.presence.currentPosition();
      await stores.presence.set({ userId: niaj, presence: 'online', statusMsg: 'hi', lastActiveTs: 5 });
      await stores.presence.set({ userId: niaj, presence: 'unavailable', lastActiveTs: 6 });
      expect(await stores.presence.get(niaj)).toMatchObject({ presence: 'unavailable', lastActiveTs: 6 });
      expect((await stores.presence.get(niaj))?.statusMsg).toBeUndefined();
      const end = await stores.presence.currentPosition();
      const changes = await stores.presence.changesSince([niaj], start, end);
      expect(changes.map((c) => c.presence)).toEqual(['unavailable']);
    });

    it('gives each of a burst of presence and receipt writes its own position, never visible before its row', async () => {
      const users = Array.from({ length: 30 }, (_, i) => user(`burst${i}`));
      const room = `!burst${randomUUID().slice(0, 8)}:example.org`;
      const [presenceStart, receiptStart] = [await stores.presence.currentPosition(), await stores.receipts.currentPosition()];
      let writing = true;
      const reader = (async () => {
        while (writing) {
          const position = await stores.presence.currentPosition();
          const seen = await stores.presence.changesSince(users, presenceStart, position);
          const all = await stores.presence.changesSince(users, presenceStart, Number.MAX_SAFE_INTEGER);
          expect(all.filter((state) => state.position <= position)).toHaveLength(seen.length);
        }
      })();
      const [presencePositions, receiptPositions] = await Promise.all([
        Promise.all(users.map((userId, i) => stores.presence.set({ userId, presence: 'online', lastActiveTs: i }))),
        Promise.all(users.map((userId, i) => stores.receipts.put({ roomId: room, receiptType: 'm.read', userId, eventId: `$e${i}`, ts: i }))),
      ]);
      writing = false;
      await reader;
      expect(new Set(presencePositions).size).toBe(users.length);
      expect(new Set(receiptPositions).size).toBe(users.length);
      const states = await stores.presence.changesSince(users, presenceStart, await stores.presence.currentPosition());
      expect(states.map((state) => state.position).sort((a, b) => a - b)).toEqual([...presencePositions].sort((a, b) => a - b));
      expect(states.find((state) => state.userId === users[7])).toMatchObject({ lastActiveTs: 7, position: presencePositions[7] });
      const receipts = await stores.receipts.changesSince([room], receiptStart, await stores.receipts.currentPosition());
      expect(receipts.map((receipt) => receipt.eventId).sort()).toEqual(users.map((_, i) => `$e${i}`).sort());
    });

    it('stores a presence’s newer last activity without a new position, and never an older one', async () => {
      const olga = user('olga');
      const position = await stores.presence.set({ userId: olga, presence: 'online', lastActiveTs: 100 });
      await stores.presence.touch(olga, 40_100);
      await stores.presence.touch(olga, 20_100);
      expect(await stores.presence.get(olga)).toMatchObject({ presence: 'online', lastActiveTs: 40_100, position });
      expect(await stores.presence.currentPosition()).toBeGreaterThanOrEqual(position);
      const changes = await stores.presence.changesSince([olga], position, await stores.presence.currentPosition());
      expect(changes).toEqual([]);
    });

    it('lists the users whose presence is not offline', async () => {
      const [pia, quinn, rex] = [user('pia'), user('quinn'), user('rex')];
      await stores.presence.set({ userId: pia, presence: 'online', lastActiveTs: 1 });
      await stores.presence.set({ userId: quinn, presence: 'unavailable', statusMsg: 'away', lastActiveTs: 2 });
      await stores.presence.set({ userId: rex, presence: 'offline', lastActiveTs: 3 });
      const present = (await stores.presence.present()).filter((state) => [pia, quinn, rex].includes(state.userId));
      expect(present.map((state) => [state.userId, state.presence, state.statusMsg]).sort()).toEqual([
        [pia, 'online', undefined], [quinn, 'unavailable', 'away'],
      ]);
    });

    it('reads every stream position at once, equal to each stream\'s own', async () => {
      await stores.receipts.put({ roomId: '!r:example.org', receiptType: 'm.read', userId: user('olivia'), eventId: '$e', ts: 1 });
      await stores.presence.set({ userId: user('olivia'), presence: 'online', lastActiveTs: 7 });
      const all = await stores.currentPositions();
      expect(all).toEqual({
        accountData: await stores.accountData.currentPosition(), receipts: await stores.receipts.currentPosition(),
        toDevice: await stores.toDevice.currentPosition(), deviceLists: await stores.keys.currentDeviceListPosition(),
        presence: await stores.presence.currentPosition(),
      });
      expect(all.receipts).toBeGreaterThan(0);
      expect(all.presence).toBeGreaterThan(0);
    });
  });
};
