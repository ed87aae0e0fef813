/**
 * EDUs between two Strata servers on loopback (server-server-api § EDUs): with a user of B joined
 * to a room on A, to-device messages cross both ways (each delivered once), B's user's new device
 * keys and cross-signing keys put them in A's user's `device_lists.changed` (and /keys/query then
 * fetches the new device from B), and B's user's presence reaches A's user's /sync. Typing and
 * receipts crossing are in strataFederation.int.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossSigningKey, deviceKeys, generateTestKeyPair } from '../fixtures/index.ts';
import { e, type Body, type UserClient } from '../harness/index.ts';
import { eventually, joinedMembers } from './federationViews.ts';
import { startStrataPeer, type StrataPeer } from './strataPeers.ts';

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

let serverA: StrataPeer;
let serverB: StrataPeer;
let alice: UserClient;
let bob: UserClient;
/** alice's latest /sync token: each test waits for what comes after it. */
let since: string;

const toDeviceOf = (sync: Body): Body[] => (sync.to_device?.events as Body[] | undefined) ?? [];
const changedOf = (sync: Body): string[] => (sync.device_lists?.changed as string[] | undefined) ?? [];

/** alice's /sync from `since` until `until` holds; moves `since` past it. */
const aliceSeesSoon = async (until: (sync: Body) => boolean): Promise<Body> => {
  const sync = await alice.syncUntil(until, { since, timeoutMs: 30_000 });
  since = sync.next_batch as string;
  return sync;
};

beforeAll(async () => {
  [serverA, serverB] = await Promise.all([startStrataPeer(), startStrataPeer()]);
  alice = await serverA.register(`alice${unique()}`);
  bob = await serverB.register(`bob${unique()}`);
  const roomId = await alice.createRoom({ preset: 'private_chat' });
  await alice.post(`/rooms/${e(roomId)}/invite`, { user_id: bob.userId });
  await eventually(() => bob.sync(), (sync) => sync.rooms?.invite?.[roomId] !== undefined, 'the invite on B');
  await bob.post(`/join/${e(roomId)}`, {});
  await eventually(() => joinedMembers(alice, roomId), (members) => members.includes(bob.userId), 'bob joined, as A sees it');
  since = (await alice.sync({ timeout: 0 })).next_batch as string;
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([serverA?.destroy(), serverB?.destroy()]);
}, 60_000);

describe('EDUs between two Strata servers', () => {
  it('carries to-device messages both ways, each delivered once', async () => {
    await bob.put(`/sendToDevice/m.room_key_request/${unique()}`, { messages: { [alice.userId]: { '*': { from: 'B' } } } });
    const got = await aliceSeesSoon((sync) => toDeviceOf(sync).length > 0);
    expect(toDeviceOf(got)).toEqual([{ sender: bob.userId, type: 'm.room_key_request', content: { from: 'B' } }]);

    const bobSince = (await bob.sync({ timeout: 0 })).next_batch as string;
    await alice.put(`/sendToDevice/m.room.encrypted/${unique()}`, { messages: { [bob.userId]: { [bob.session.deviceId]: { from: 'A' } } } });
    const bobGot = await bob.syncUntil((sync) => toDeviceOf(sync).length > 0, { since: bobSince, timeoutMs: 30_000 });
    expect(toDeviceOf(bobGot)).toEqual([{ sender: alice.userId, type: 'm.room.encrypted', content: { from: 'A' } }]);

    const later = await alice.sync({ since, timeout: 1_000 });
    expect(toDeviceOf(later)).toEqual([]);
    since = later.next_batch as string;
  }, 60_000);

  it('tells A\'s user of B\'s user\'s new device keys, which /keys/query then fetches from B', async () => {
    const keys = deviceKeys(bob.userId, bob.session.deviceId, generateTestKeyPair());
    await bob.post('/keys/upload', { device_keys: keys });
    await aliceSeesSoon((sync) => changedOf(sync).includes(bob.userId));
    const queried = await alice.post('/keys/query', { device_keys: { [bob.userId]: [] } });
    expect(queried.device_keys[bob.userId][bob.session.deviceId]).toMatchObject({ keys: keys.keys });
  }, 60_000);

  it('tells A\'s user of B\'s user\'s new cross-signing keys', async () => {
    await bob.post('/keys/device_signing/upload', { master_key: crossSigningKey(bob.userId, 'master', generateTestKeyPair()) });
    await aliceSeesSoon((sync) => changedOf(sync).includes(bob.userId));
    const queried = await alice.post('/keys/query', { device_keys: { [bob.userId]: [] } });
    expect(queried.master_keys[bob.userId]).toMatchObject({ user_id: bob.userId, usage: ['master'] });
  }, 60_000);

  it('shows B\'s user\'s presence to A\'s user', async () => {
    await bob.put(`/presence/${e(bob.userId)}/status`, { presence: 'online', status_msg: 'on B' });
    const sync = await aliceSeesSoon((response) => ((response.presence?.events as Body[] | undefined) ?? [])
      .some((event) => event.sender === bob.userId && event.content.status_msg === 'on B'));
    const event = (sync.presence.events as Body[]).find((candidate) => candidate.sender === bob.userId)!;
    expect(event.content).toMatchObject({ presence: 'online', status_msg: 'on B' });
    expect(await alice.get(`/presence/${e(bob.userId)}/status`)).toMatchObject({ presence: 'online', status_msg: 'on B' });
  }, 60_000);
});
