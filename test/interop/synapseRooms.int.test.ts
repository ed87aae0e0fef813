/**
 * Rooms spanning Strata and Synapse (issue: federation): a Strata user's room joined by a Synapse
 * user and the reverse, with messages, state and membership agreeing on both servers (typing,
 * receipts and to-device: synapseEdus.int.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e, type Body, type UserClient } from '../harness/index.ts';
import { eventually, joinedMembers, sameStateEverywhere } from './federationViews.ts';
import { startSynapseAndStrata, type SynapseAndStrata, type SynapsePeer } from './synapsePeer.ts';

let both: SynapseAndStrata;
let peer: SynapsePeer;
let alice: UserClient;
let bob: UserClient;

const bodies = (messages: Body): string[] => (messages.chunk as Body[]).filter((event) => event.type === 'm.room.message').map((event) => event.content.body as string);
const history = (user: UserClient, roomId: string) => user.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 50 });

beforeAll(async () => {
  both = await startSynapseAndStrata();
  ({ peer, alice, bob } = both);
}, 240_000);

afterAll(async () => {
  await both?.stop();
}, 120_000);

describe('a Strata room joined by a Synapse user', () => {
  let roomId: string;

  it('invites, joins, and carries messages both ways', async () => {
    roomId = await alice.createRoom({ preset: 'private_chat', name: 'strata-hosted' });
    await alice.post(`/rooms/${e(roomId)}/invite`, { user_id: bob.userId });
    const invited = await eventually(() => bob.sync(), (sync) => sync.rooms?.invite?.[roomId] !== undefined, 'the invite on Synapse');
    // The stripped state names the room, and carries the inviter's member event (who invited).
    const stripped = invited.rooms.invite[roomId].invite_state.events as Body[];
    expect(stripped.find((event) => event.type === 'm.room.name')?.content.name).toBe('strata-hosted');
    expect(stripped.find((event) => event.type === 'm.room.member' && event.state_key === alice.userId)?.content.membership).toBe('join');
    await bob.post(`/join/${e(roomId)}`, {});
    await eventually(() => joinedMembers(alice, roomId), (members) => members.includes(bob.userId), 'bob joined, as Strata sees it');

    await alice.send(roomId, 'hello from strata');
    await eventually(() => history(bob, roomId), (messages) => bodies(messages).includes('hello from strata'), 'alice\'s message on Synapse');
    await bob.send(roomId, 'hello from synapse');
    await eventually(() => history(alice, roomId), (messages) => bodies(messages).includes('hello from synapse'), 'bob\'s message on Strata');

    expect(await joinedMembers(bob, roomId)).toEqual(await joinedMembers(alice, roomId));
  }, 120_000);

  it('carries state changes, power levels and redactions, and both servers agree on the state', async () => {
    await alice.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: 'set on strata' });
    await eventually(() => bob.get(`/rooms/${e(roomId)}/state/m.room.topic/`), (topic) => topic.topic === 'set on strata', 'the topic on Synapse');
    const levels = await alice.get(`/rooms/${e(roomId)}/state/m.room.power_levels/`);
    await alice.put(`/rooms/${e(roomId)}/state/m.room.power_levels/`, { ...levels, users: { ...levels.users, [bob.userId]: 100 } });
    await eventually(() => bob.get(`/rooms/${e(roomId)}/state/m.room.power_levels/`), (pl) => pl.users?.[bob.userId] === 100, 'the power levels on Synapse');
    // Bob's new power is used on Synapse and judged on Strata.
    await bob.put(`/rooms/${e(roomId)}/state/m.room.name/`, { name: 'renamed on synapse' });
    await eventually(() => alice.get(`/rooms/${e(roomId)}/state/m.room.name/`), (name) => name.name === 'renamed on synapse', 'the name on Strata');

    const doomed = await alice.send(roomId, 'to be redacted');
    await eventually(() => history(bob, roomId), (messages) => bodies(messages).includes('to be redacted'), 'the doomed message on Synapse');
    await alice.put(`/rooms/${e(roomId)}/redact/${e(doomed)}/r1`, { reason: 'oops' });
    await eventually(() => bob.get(`/rooms/${e(roomId)}/event/${e(doomed)}`), (event) => event.content?.body === undefined, 'the redaction on Synapse');
    const theirs = await bob.send(roomId, 'synapse regrets this');
    await eventually(() => history(alice, roomId), (messages) => bodies(messages).includes('synapse regrets this'), 'bob\'s message on Strata');
    await bob.put(`/rooms/${e(roomId)}/redact/${e(theirs)}/r2`, {});
    await eventually(() => alice.get(`/rooms/${e(roomId)}/event/${e(theirs)}`), (event) => event.content?.body === undefined, 'bob\'s redaction on Strata');

    const state = await sameStateEverywhere([alice, bob], roomId, 'the same current state on both servers');
    expect(state[`m.room.member|${bob.userId}`]).toBeDefined();
  }, 120_000);

  it('resolves profiles and E2EE device keys across servers', async () => {
    await bob.put(`/profile/${e(bob.userId)}/displayname`, { displayname: 'Bob on Synapse' });
    expect((await alice.get(`/profile/${e(bob.userId)}`)).displayname).toBe('Bob on Synapse');
    await alice.put(`/profile/${e(alice.userId)}/displayname`, { displayname: 'Alice on Strata' });
    await eventually(() => bob.get(`/profile/${e(alice.userId)}`), (profile) => profile.displayname === 'Alice on Strata', 'alice\'s profile from Synapse');

    const deviceId = bob.session.deviceId;
    await bob.post('/keys/upload', {
      device_keys: { user_id: bob.userId, device_id: deviceId, algorithms: ['m.olm.v1.curve25519-aes-sha2'], keys: { [`curve25519:${deviceId}`]: 'Y3VydmU', [`ed25519:${deviceId}`]: 'ZWQyNTUxOQ' }, signatures: {} },
      one_time_keys: { 'curve25519:AAAAAQ': 'b3Rr' },
    });
    const queried = await alice.post('/keys/query', { device_keys: { [bob.userId]: [] } });
    expect(Object.keys(queried.device_keys[bob.userId] ?? {})).toContain(deviceId);
    const claimed = await alice.post('/keys/claim', { one_time_keys: { [bob.userId]: { [deviceId]: 'curve25519' } } });
    expect(claimed.one_time_keys[bob.userId]?.[deviceId]).toEqual({ 'curve25519:AAAAAQ': 'b3Rr' });
  }, 120_000);
});

describe('a Synapse room joined by a Strata user', () => {
  let hosted: string;

  it('joins by alias, reads state, and carries messages both ways', async () => {
    const alias = `synapse${Date.now().toString(36)}`;
    const roomId = await bob.createRoom({ preset: 'public_chat', room_alias_name: alias, name: 'synapse-hosted' });
    await bob.send(roomId, 'before strata came');
    const joined = await alice.post(`/join/${e(`#${alias}:${peer.serverName}`)}`, {});
    expect(joined.room_id).toBe(roomId);
    expect((await alice.get(`/rooms/${e(roomId)}/state/m.room.name/`)).name).toBe('synapse-hosted');
    await eventually(() => joinedMembers(bob, roomId), (members) => members.includes(alice.userId), 'alice joined, as Synapse sees it');
    // History from before Strata was in the room is backfilled from Synapse when paging back.
    expect(bodies(await history(alice, roomId))).toContain('before strata came');

    await bob.send(roomId, 'welcome');
    await eventually(() => history(alice, roomId), (messages) => bodies(messages).includes('welcome'), 'bob\'s message on Strata');
    await alice.send(roomId, 'thanks');
    await eventually(() => history(bob, roomId), (messages) => bodies(messages).includes('thanks'), 'alice\'s message on Synapse');
    expect(await joinedMembers(alice, roomId)).toEqual(await joinedMembers(bob, roomId));
    hosted = roomId;
  }, 120_000);

  it('carries state changes, power levels and redactions, and both servers agree on the state', async () => {
    const roomId = hosted;
    const levels = await bob.get(`/rooms/${e(roomId)}/state/m.room.power_levels/`);
    await bob.put(`/rooms/${e(roomId)}/state/m.room.power_levels/`, { ...levels, users: { ...levels.users, [alice.userId]: 50 } });
    await eventually(() => alice.get(`/rooms/${e(roomId)}/state/m.room.power_levels/`), (pl) => pl.users?.[alice.userId] === 50, 'the power levels on Strata');
    // Alice's new power is used on Strata and judged on Synapse.
    await alice.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: 'set from strata' });
    await eventually(() => bob.get(`/rooms/${e(roomId)}/state/m.room.topic/`), (topic) => topic.topic === 'set from strata', 'the topic on Synapse');
    await bob.put(`/rooms/${e(roomId)}/state/m.room.name/`, { name: 'renamed on synapse' });
    await eventually(() => alice.get(`/rooms/${e(roomId)}/state/m.room.name/`), (name) => name.name === 'renamed on synapse', 'the name on Strata');

    const ours = await alice.send(roomId, 'strata regrets this');
    await eventually(() => history(bob, roomId), (messages) => bodies(messages).includes('strata regrets this'), 'the message on Synapse');
    await alice.put(`/rooms/${e(roomId)}/redact/${e(ours)}/r3`, {});
    await eventually(() => bob.get(`/rooms/${e(roomId)}/event/${e(ours)}`), (event) => event.content?.body === undefined, 'alice\'s redaction on Synapse');
    // Bob (admin) redacts Alice's other message: the redaction of another user's event, judged on Strata.
    const second = await alice.send(roomId, 'moderated');
    await eventually(() => history(bob, roomId), (messages) => bodies(messages).includes('moderated'), 'the second message on Synapse');
    await bob.put(`/rooms/${e(roomId)}/redact/${e(second)}/r4`, {});
    await eventually(() => alice.get(`/rooms/${e(roomId)}/event/${e(second)}`), (event) => event.content?.body === undefined, 'bob\'s redaction on Strata');

    const state = await sameStateEverywhere([alice, bob], roomId, 'the same current state on both servers');
    expect(state[`m.room.member|${alice.userId}`]).toBeDefined();
  }, 120_000);
});
