/**
 * Strata ↔ Strata federation on loopback (issue: federation), two servers: a room on A that B's
 * user is invited to and joins, with messages, state, power levels, redactions, typing and receipts
 * crossing; both servers agreeing on members and current state; and the lookups a client makes
 * about the other server (profiles, aliases, E2EE keys).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e, ephemeralOf, type Body, type UserClient } from '../harness/index.ts';
import {
  currentState, eventually, joinedMembers, messageBodiesOf, sameStateEverywhere, stateContent,
} from './federationViews.ts';
import { startStrataPeer, type StrataPeer } from './strataPeers.ts';

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

let serverA: StrataPeer;
let serverB: StrataPeer;
let alice: UserClient;
let bob: UserClient;
/** The room of A that bob joins; undefined when the invite/join test failed. */
let sharedRoom: string | undefined;

const room = (): string => {
  if (sharedRoom === undefined) throw new Error('no shared room: the invite and join test failed');
  return sharedRoom;
};

beforeAll(async () => {
  [serverA, serverB] = await Promise.all([startStrataPeer(), startStrataPeer()]);
  alice = await serverA.register(`alice${unique()}`);
  bob = await serverB.register(`bob${unique()}`);
}, 120_000);

afterAll(async () => {
  await Promise.allSettled([serverA?.destroy(), serverB?.destroy()]);
}, 60_000);

describe('a room on Strata A joined by a user of Strata B', () => {
  it('invites across servers, and the invitee joins', async () => {
    const roomId = await alice.createRoom({ preset: 'private_chat', name: 'strata-to-strata' });
    await alice.post(`/rooms/${e(roomId)}/invite`, { user_id: bob.userId });
    await eventually(() => bob.sync(), (sync) => sync.rooms?.invite?.[roomId] !== undefined, 'the invite on B');
    await bob.post(`/join/${e(roomId)}`, {});
    await eventually(() => joinedMembers(alice, roomId), (members) => members.includes(bob.userId), 'bob joined, as A sees it');
    expect((await stateContent(bob, roomId, 'm.room.name')).name).toBe('strata-to-strata');
    sharedRoom = roomId;
  }, 60_000);

  it('carries messages both ways', async () => {
    await alice.send(room(), 'hello from A');
    await eventually(() => messageBodiesOf(bob, room()), (bodies) => bodies.includes('hello from A'), 'alice\'s message on B');
    await bob.send(room(), 'hello from B');
    await eventually(() => messageBodiesOf(alice, room()), (bodies) => bodies.includes('hello from B'), 'bob\'s message on A');
  }, 60_000);

  it('carries a topic change from A to B', async () => {
    await alice.put(`/rooms/${e(room())}/state/m.room.topic/`, { topic: 'set on A' });
    await eventually(() => stateContent(bob, room(), 'm.room.topic'), (content) => content.topic === 'set on A', 'the topic on B');
  }, 60_000);

  it('carries a power level change: A\'s admin gives B\'s user 50, and B\'s user then uses it', async () => {
    const levels = await stateContent(alice, room(), 'm.room.power_levels');
    await alice.put(`/rooms/${e(room())}/state/m.room.power_levels/`, { ...levels, users: { ...(levels.users as Body), [bob.userId]: 50 } });
    await eventually(() => stateContent(bob, room(), 'm.room.power_levels'), (content) => content.users?.[bob.userId] === 50, 'bob at 50 on B');
    // With 50, bob may set the topic (state_default 50), and A accepts it.
    await bob.put(`/rooms/${e(room())}/state/m.room.topic/`, { topic: 'set on B' });
    await eventually(() => stateContent(alice, room(), 'm.room.topic'), (content) => content.topic === 'set on B', 'bob\'s topic on A');
  }, 60_000);

  it('carries a redaction by the sender', async () => {
    const eventId = await bob.send(room(), 'to be redacted');
    await eventually(() => messageBodiesOf(alice, room()), (bodies) => bodies.includes('to be redacted'), 'the message on A');
    await bob.put(`/rooms/${e(room())}/redact/${e(eventId)}/redact-${unique()}`, { reason: 'oops' });
    const seen = await eventually(
      () => alice.get(`/rooms/${e(room())}/event/${e(eventId)}`),
      (event) => event.unsigned?.redacted_because !== undefined && Object.keys(event.content as Body).length === 0,
      'the message redacted on A',
    );
    expect(seen.unsigned.redacted_because.sender).toBe(bob.userId);
  }, 60_000);

  it('carries typing from B to A', async () => {
    await bob.put(`/rooms/${e(room())}/typing/${e(bob.userId)}`, { typing: true, timeout: 30_000 });
    await eventually(
      () => alice.sync(),
      (sync) => ephemeralOf(sync, room()).some((event) => event.type === 'm.typing' && (event.content.user_ids as string[]).includes(bob.userId)),
      'bob typing, as A sees it',
    );
  }, 60_000);

  it('carries a read receipt from A to B', async () => {
    const eventId = await bob.send(room(), 'please read');
    await eventually(() => messageBodiesOf(alice, room()), (bodies) => bodies.includes('please read'), 'the message on A');
    await alice.post(`/rooms/${e(room())}/receipt/m.read/${e(eventId)}`, {});
    await eventually(
      () => bob.sync(),
      (sync) => ephemeralOf(sync, room()).some((event) => event.type === 'm.receipt' && event.content[eventId]?.['m.read']?.[alice.userId] !== undefined),
      'alice\'s receipt, as B sees it',
    );
  }, 60_000);

  it('ends with the same joined members and the same current state on both servers', async () => {
    await eventually(() => joinedMembers(bob, room()), (members) => members.length === 2, 'both members on B');
    expect(await joinedMembers(bob, room())).toEqual(await joinedMembers(alice, room()));
    const state = await sameStateEverywhere([alice, bob], room(), 'the same current state on A and B');
    expect(state[`m.room.member|${bob.userId}`]).toBeDefined();
    expect(Object.keys(state)).toContain('m.room.topic|');
    expect(await currentState(bob, room())).toEqual(await currentState(alice, room()));
  }, 60_000);
});

describe('lookups about the other server', () => {
  it('reads a profile of B from A', async () => {
    await bob.put(`/profile/${e(bob.userId)}/displayname`, { displayname: 'Bob of B' });
    const profile = await alice.get(`/profile/${e(bob.userId)}`);
    expect(profile.displayname).toBe('Bob of B');
  }, 60_000);

  it('joins a room of A from B by its alias', async () => {
    const alias = `lobby${unique()}`;
    const roomId = await alice.createRoom({ preset: 'public_chat', room_alias_name: alias, name: 'lobby' });
    const resolved = await bob.get(`/directory/room/${e(`#${alias}:${serverA.serverName}`)}`);
    expect(resolved.room_id).toBe(roomId);
    const joined = await bob.post(`/join/${e(`#${alias}:${serverA.serverName}`)}`, {});
    expect(joined.room_id).toBe(roomId);
    await eventually(() => joinedMembers(alice, roomId), (members) => members.includes(bob.userId), 'bob in the lobby, as A sees it');
    expect((await stateContent(bob, roomId, 'm.room.name')).name).toBe('lobby');
  }, 60_000);

  it('queries and claims E2EE keys of a B device from A', async () => {
    const deviceId = bob.session.deviceId;
    await bob.post('/keys/upload', {
      device_keys: {
        user_id: bob.userId, device_id: deviceId, algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
        keys: { [`curve25519:${deviceId}`]: 'curve-key-of-bob', [`ed25519:${deviceId}`]: 'ed-key-of-bob' },
        signatures: { [bob.userId]: { [`ed25519:${deviceId}`]: 'signature-of-bob' } },
      },
      one_time_keys: { 'signed_curve25519:AAAAAQ': { key: 'one-time-key-of-bob', signatures: { [bob.userId]: { [`ed25519:${deviceId}`]: 'sig' } } } },
    });
    const queried = await alice.post('/keys/query', { device_keys: { [bob.userId]: [] } });
    expect(queried.device_keys?.[bob.userId]?.[deviceId]?.keys).toEqual({ [`curve25519:${deviceId}`]: 'curve-key-of-bob', [`ed25519:${deviceId}`]: 'ed-key-of-bob' });
    expect(queried.failures ?? {}).toEqual({});
    const claimed = await alice.post('/keys/claim', { one_time_keys: { [bob.userId]: { [deviceId]: 'signed_curve25519' } } });
    expect(claimed.one_time_keys?.[bob.userId]?.[deviceId]?.['signed_curve25519:AAAAAQ']?.key).toBe('one-time-key-of-bob');
    expect(claimed.failures ?? {}).toEqual({});

    // A device B's user adds later reaches A's answers (a device list update, or a fresh query).
    const second = serverB.client.as(await serverB.client.login(bob.userId));
    const secondId = second.session.deviceId;
    await second.post('/keys/upload', {
      device_keys: {
        user_id: bob.userId, device_id: secondId, algorithms: ['m.olm.v1.curve25519-aes-sha2'],
        keys: { [`curve25519:${secondId}`]: 'second-curve-key', [`ed25519:${secondId}`]: 'second-ed-key' }, signatures: {},
      },
    });
    await eventually(
      () => alice.post('/keys/query', { device_keys: { [bob.userId]: [] } }),
      (answer) => answer.device_keys?.[bob.userId]?.[secondId]?.keys?.[`ed25519:${secondId}`] === 'second-ed-key',
      'bob\'s second device, as A answers',
    );
  }, 60_000);

  it('sends a to-device message from A to a device on B', async () => {
    const content = { algorithm: 'm.olm.v1.curve25519-aes-sha2', sender_key: 'alice-curve', ciphertext: { 'bob-curve': { type: 0, body: 'olm-body' } } };
    await alice.put(`/sendToDevice/m.room.encrypted/to-device-${unique()}`, { messages: { [bob.userId]: { [bob.session.deviceId]: content } } });
    const sync = await eventually(
      () => bob.sync(),
      (answer) => ((answer.to_device?.events ?? []) as Body[]).some((event) => event.sender === alice.userId),
      'alice\'s to-device message on B',
    );
    const received = (sync.to_device.events as Body[]).find((event) => event.sender === alice.userId)!;
    expect({ type: received.type, content: received.content }).toEqual({ type: 'm.room.encrypted', content });
  }, 60_000);

  it('shows a displayname change of B in the member event on A', async () => {
    await bob.put(`/profile/${e(bob.userId)}/displayname`, { displayname: 'Bob renamed' });
    await eventually(() => stateContent(alice, room(), 'm.room.member', bob.userId), (content) => content.displayname === 'Bob renamed', 'bob\'s new name on A');
  }, 60_000);
});
