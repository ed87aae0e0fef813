/**
 * EDUs between Strata and Synapse (server-server-api § EDUs), in a Strata room a Synapse user
 * joined: typing, read receipts and to-device messages cross both ways; device keys uploaded on one
 * server reach the other's `device_lists.changed`, and Synapse, which caches the device lists of
 * remote users it shares a room with, serves Strata's new device after our m.device_list_update,
 * and Strata's new master key after our m.signing_key_update; presence crosses both ways.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossSigningKey, deviceKeys, generateTestKeyPair } from '../fixtures/index.ts';
import { e, ephemeralOf, type Body, type UserClient } from '../harness/index.ts';
import { eventually, joinedMembers } from './federationViews.ts';
import { startSynapseAndStrata, type SynapseAndStrata } from './synapsePeer.ts';

let both: SynapseAndStrata;
/** On Strata. */
let alice: UserClient;
/** On Synapse. */
let bob: UserClient;
let roomId: string;

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const toDeviceOf = (sync: Body): Body[] => (sync.to_device?.events as Body[] | undefined) ?? [];
const changedOf = (sync: Body): string[] => (sync.device_lists?.changed as string[] | undefined) ?? [];
const typingIn = (sync: Body): string[] =>
  ephemeralOf(sync, roomId).filter((event) => event.type === 'm.typing').flatMap((event) => event.content.user_ids as string[]);
const readBy = (sync: Body, eventId: string, userId: string): boolean =>
  ephemeralOf(sync, roomId).some((event) => event.type === 'm.receipt' && event.content[eventId]?.['m.read']?.[userId] !== undefined);

/** Starts `user` waiting from now, runs `act`, then waits for `until`. */
const afterAct = async (user: UserClient, act: () => Promise<unknown>, until: (sync: Body) => boolean): Promise<Body> => {
  const since = (await user.sync({ timeout: 0 })).next_batch as string;
  await act();
  return user.syncUntil(until, { since, timeoutMs: 45_000 });
};

beforeAll(async () => {
  both = await startSynapseAndStrata();
  ({ alice, bob } = both);
  roomId = await alice.createRoom({ preset: 'private_chat', name: 'edus' });
  await alice.post(`/rooms/${e(roomId)}/invite`, { user_id: bob.userId });
  await eventually(() => bob.sync(), (sync) => sync.rooms?.invite?.[roomId] !== undefined, 'the invite on Synapse');
  await bob.post(`/join/${e(roomId)}`, {});
  await eventually(() => joinedMembers(alice, roomId), (members) => members.includes(bob.userId), 'bob joined, as Strata sees it');
}, 240_000);

afterAll(async () => {
  await both?.stop();
}, 120_000);

describe('EDUs between Strata and Synapse', () => {
  it('carries typing both ways', async () => {
    await afterAct(bob, () => alice.put(`/rooms/${e(roomId)}/typing/${e(alice.userId)}`, { typing: true, timeout: 30_000 }),
      (sync) => typingIn(sync).includes(alice.userId));
    await afterAct(alice, () => bob.put(`/rooms/${e(roomId)}/typing/${e(bob.userId)}`, { typing: true, timeout: 30_000 }),
      (sync) => typingIn(sync).includes(bob.userId));
  }, 120_000);

  it('carries read receipts both ways', async () => {
    const fromAlice = await alice.send(roomId, 'read me');
    await eventually(() => bob.get(`/rooms/${e(roomId)}/event/${e(fromAlice)}`), () => true, 'alice\'s message on Synapse');
    await afterAct(alice, () => bob.post(`/rooms/${e(roomId)}/receipt/m.read/${e(fromAlice)}`, {}), (sync) => readBy(sync, fromAlice, bob.userId));
    const fromBob = await bob.send(roomId, 'read me too');
    await eventually(() => alice.get(`/rooms/${e(roomId)}/event/${e(fromBob)}`), () => true, 'bob\'s message on Strata');
    await afterAct(bob, () => alice.post(`/rooms/${e(roomId)}/receipt/m.read/${e(fromBob)}`, {}), (sync) => readBy(sync, fromBob, alice.userId));
  }, 120_000);

  it('carries to-device messages both ways', async () => {
    const atBob = await afterAct(bob, () => alice.put(`/sendToDevice/m.room_key_request/${unique()}`, { messages: { [bob.userId]: { '*': { from: 'strata' } } } }),
      (sync) => toDeviceOf(sync).length > 0);
    expect(toDeviceOf(atBob)).toEqual([expect.objectContaining({ sender: alice.userId, type: 'm.room_key_request', content: { from: 'strata' } })]);
    const atAlice = await afterAct(alice, () => bob.put(`/sendToDevice/m.room_key_request/${unique()}`, { messages: { [alice.userId]: { [alice.session.deviceId]: { from: 'synapse' } } } }),
      (sync) => toDeviceOf(sync).length > 0);
    expect(toDeviceOf(atAlice)).toEqual([{ sender: bob.userId, type: 'm.room_key_request', content: { from: 'synapse' } }]);
  }, 120_000);

  it('tells Synapse of Strata\'s new device keys, which Synapse then serves from its device-list cache', async () => {
    // Synapse tracks alice's devices from here on (it caches what it fetched).
    await bob.post('/keys/query', { device_keys: { [alice.userId]: [] } });
    const keys = deviceKeys(alice.userId, alice.session.deviceId, generateTestKeyPair());
    await afterAct(bob, () => alice.post('/keys/upload', { device_keys: keys }), (sync) => changedOf(sync).includes(alice.userId));
    const queried = await eventually(() => bob.post('/keys/query', { device_keys: { [alice.userId]: [] } }),
      (reply) => reply.device_keys?.[alice.userId]?.[alice.session.deviceId] !== undefined, 'alice\'s device on Synapse');
    expect(queried.device_keys[alice.userId][alice.session.deviceId]).toMatchObject({ keys: keys.keys });
  }, 120_000);

  it('tells Synapse of Strata\'s new cross-signing keys', async () => {
    const master = crossSigningKey(alice.userId, 'master', generateTestKeyPair());
    await afterAct(bob, () => alice.post('/keys/device_signing/upload', { master_key: master }), (sync) => changedOf(sync).includes(alice.userId));
    const queried = await eventually(() => bob.post('/keys/query', { device_keys: { [alice.userId]: [] } }),
      (reply) => reply.master_keys?.[alice.userId] !== undefined, 'alice\'s master key on Synapse');
    expect(queried.master_keys[alice.userId]).toMatchObject({ keys: master.keys });
  }, 120_000);

  it('tells Synapse of Strata\'s new login, renamed device and logout, keys uploaded or not', async () => {
    // From a token after which Synapse lists nothing of alice's (earlier changes may still show).
    let since = (await bob.sync({ timeout: 0 })).next_batch as string;
    for (let quiet = false; !quiet;) {
      const next = await bob.sync({ since, timeout: 1000 });
      quiet = !changedOf(next).includes(alice.userId);
      since = next.next_batch as string;
    }
    // A new device has no keys yet: Synapse still hears of it (its /sync lists alice).
    const phone = alice.client.as(await alice.client.login(alice.userId));
    await bob.syncUntil((sync) => changedOf(sync).includes(alice.userId), { since, timeoutMs: 45_000 });
    const phoneId = phone.session.deviceId;
    await phone.post('/keys/upload', { device_keys: deviceKeys(alice.userId, phoneId, generateTestKeyPair()) });
    await eventually(() => bob.post('/keys/query', { device_keys: { [alice.userId]: [] } }),
      (reply) => reply.device_keys?.[alice.userId]?.[phoneId] !== undefined, 'alice\'s phone on Synapse');
    await afterAct(bob, () => phone.put(`/devices/${e(phoneId)}`, { display_name: 'Renamed phone' }), (sync) => changedOf(sync).includes(alice.userId));
    await afterAct(bob, () => phone.post('/logout'), (sync) => changedOf(sync).includes(alice.userId));
    await eventually(() => bob.post('/keys/query', { device_keys: { [alice.userId]: [] } }),
      (reply) => reply.device_keys?.[alice.userId] !== undefined && reply.device_keys[alice.userId][phoneId] === undefined, 'alice\'s phone gone on Synapse');
  }, 120_000);

  it('tells Strata of Synapse\'s new device keys', async () => {
    const keys = deviceKeys(bob.userId, bob.session.deviceId, generateTestKeyPair());
    await afterAct(alice, () => bob.post('/keys/upload', { device_keys: keys }), (sync) => changedOf(sync).includes(bob.userId));
  }, 120_000);

  it('shows Synapse\'s presence on Strata', async () => {
    const status = `from synapse ${unique()}`;
    await afterAct(alice, () => bob.put(`/presence/${e(bob.userId)}/status`, { presence: 'online', status_msg: status }),
      (sync) => ((sync.presence?.events as Body[] | undefined) ?? []).some((event) => event.sender === bob.userId && event.content.status_msg === status));
    expect(await alice.get(`/presence/${e(bob.userId)}/status`)).toMatchObject({ presence: 'online', status_msg: status });
  }, 120_000);

  it('shows Strata\'s presence on Synapse', async () => {
    const status = `from strata ${unique()}`;
    await afterAct(bob, () => alice.put(`/presence/${e(alice.userId)}/status`, { presence: 'online', status_msg: status }),
      (sync) => ((sync.presence?.events as Body[] | undefined) ?? []).some((event) => event.sender === alice.userId && event.content.status_msg === status));
  }, 120_000);
});
