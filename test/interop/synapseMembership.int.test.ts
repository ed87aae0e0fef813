/**
 * Memberships across Strata and Synapse: invites from Synapse to Strata users (shown with the
 * room's stripped state, accepted or rejected), knocks on a Synapse room from Strata, and a
 * Synapse user leaving a Strata room.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e, type Body, type TestServer, type UserClient } from '../harness/index.ts';
import { eventually, joinedMembers } from './federationViews.ts';
import { startSynapseAndStrata, type SynapseAndStrata, type SynapsePeer } from './synapsePeer.ts';

let both: SynapseAndStrata;
let peer: SynapsePeer;
let strata: TestServer;
let alice: UserClient;
let bob: UserClient;

const membershipOf = async (user: UserClient, roomId: string, userId: string) =>
  (await user.get(`/rooms/${e(roomId)}/state/m.room.member/${e(userId)}`)).membership as string;

beforeAll(async () => {
  both = await startSynapseAndStrata();
  ({ peer, strata, alice, bob } = both);
}, 240_000);

afterAll(async () => {
  await both?.stop();
}, 120_000);

describe('invites from Synapse to a Strata user', () => {
  it('shows the invite with the room\'s stripped state, and the invitee joins through the inviting server', async () => {
    const roomId = await bob.createRoom({ preset: 'private_chat', name: 'invite-only on synapse' });
    await bob.post(`/rooms/${e(roomId)}/invite`, { user_id: alice.userId });
    const sync = await alice.syncUntil((response) => response.rooms?.invite?.[roomId] !== undefined, { timeoutMs: 30_000 });
    const stripped = sync.rooms.invite[roomId].invite_state.events as Body[];
    expect(stripped.find((event) => event.type === 'm.room.name')?.content.name).toBe('invite-only on synapse');
    expect(stripped.find((event) => event.type === 'm.room.member' && event.state_key === alice.userId)?.content.membership).toBe('invite');

    await alice.post(`/rooms/${e(roomId)}/join`, {});
    await eventually(() => joinedMembers(bob, roomId), (members) => members.includes(alice.userId), 'alice joined, as Synapse sees it');
    await alice.send(roomId, 'thanks for the invite');
    await eventually(() => bob.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 20 }),
      (page) => (page.chunk as Body[]).some((event) => event.content?.body === 'thanks for the invite'), 'alice\'s message on Synapse');
  }, 120_000);

  it('rejects an invite through the inviting server', async () => {
    const roomId = await bob.createRoom({ preset: 'private_chat' });
    await bob.post(`/rooms/${e(roomId)}/invite`, { user_id: alice.userId });
    await alice.syncUntil((response) => response.rooms?.invite?.[roomId] !== undefined, { timeoutMs: 30_000 });
    await alice.post(`/rooms/${e(roomId)}/leave`, {});
    await eventually(() => membershipOf(bob, roomId, alice.userId), (membership) => membership === 'leave', 'the rejection on Synapse');
    const after = await alice.sync();
    expect(after.rooms?.invite?.[roomId]).toBeUndefined();
  }, 120_000);
});

describe('knocking and leaving across servers', () => {
  it('knocks on a Synapse room from Strata, and is let in', async () => {
    const roomId = await bob.createRoom({ room_version: '10', initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] });
    await alice.post(`/knock/${e(roomId)}?via=${e(peer.serverName)}`, { reason: 'let me in' });
    await eventually(() => membershipOf(bob, roomId, alice.userId), (membership) => membership === 'knock', 'the knock on Synapse');
    const knocked = await alice.sync();
    expect(knocked.rooms?.knock?.[roomId]).toBeDefined();
    await bob.post(`/rooms/${e(roomId)}/invite`, { user_id: alice.userId });
    await alice.syncUntil((response) => response.rooms?.invite?.[roomId] !== undefined, { timeoutMs: 30_000 });
    await alice.post(`/join/${e(roomId)}?via=${e(peer.serverName)}`, {});
    await eventually(() => joinedMembers(bob, roomId), (members) => members.includes(alice.userId), 'alice joined after knocking');
  }, 120_000);

  it('lets a Synapse user join a restricted Strata room through its membership of an allowed room', async () => {
    const space = await alice.createRoom({ preset: 'public_chat', name: 'the allowed room' });
    const restricted = await alice.createRoom({
      room_version: '10',
      initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] } }],
    });
    // Not yet in the allowed room: Strata refuses to vouch for the join.
    const refused = await bob.request('POST', `/join/${e(restricted)}?server_name=${e(strata.serverName)}`, { json: {} });
    expect(refused.status).toBe(403);
    await bob.post(`/join/${e(space)}?server_name=${e(strata.serverName)}`, {});
    await eventually(() => joinedMembers(alice, space), (members) => members.includes(bob.userId), 'bob in the allowed room');
    await bob.post(`/join/${e(restricted)}?server_name=${e(strata.serverName)}`, {});
    await eventually(() => joinedMembers(alice, restricted), (members) => members.includes(bob.userId), 'bob in the restricted room');
    const join = await alice.get(`/rooms/${e(restricted)}/state/m.room.member/${e(bob.userId)}`);
    expect(join.join_authorised_via_users_server).toBe(alice.userId);
  }, 120_000);

  it('lets a Synapse user leave a Strata room, and Strata sees it', async () => {
    const roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${e(roomId)}?server_name=${e(strata.serverName)}`, {});
    await eventually(() => joinedMembers(alice, roomId), (members) => members.includes(bob.userId), 'bob joined');
    await bob.post(`/rooms/${e(roomId)}/leave`, {});
    await eventually(() => membershipOf(alice, roomId, bob.userId), (membership) => membership === 'leave', 'bob left, as Strata sees it');
    expect(await joinedMembers(alice, roomId)).toEqual([alice.userId]);
  }, 120_000);
});
