// Restricted rooms (client-server-api § Restricted rooms; join rules `restricted` since room
// version 8 and `knock_restricted` since 10) over HTTP: members of an allowed room may join
// without an invite, and the join names a local member who may invite in
// `join_authorised_via_users_server`, which the auth rules check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

const allowing = (joinRule: string, roomId: string): Body =>
  ({ type: 'm.room.join_rules', state_key: '', content: { join_rule: joinRule, allow: [{ type: 'm.room_membership', room_id: roomId }] } });

describe.each<ServerMode>(['embedded'])('restricted rooms (%s)', (mode) => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let dave: UserClient;
  /** alice's invite-only space; bob and dave join it, carol does not. */
  let space: string;
  const memberContent = async (user: UserClient, roomId: string, userId: string): Promise<Body> =>
    user.get(`/rooms/${e(roomId)}/state/m.room.member/${e(userId)}`);

  beforeAll(async () => {
    server = await startTestServer({ mode });
    const client = new MatrixClient(server.url);
    [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map(async (name) => client.as(await client.register(name))));
    space = await alice.createRoom({ preset: 'private_chat', creation_content: { type: 'm.space' }, invite: [bob.userId, dave.userId] });
    await bob.post(`/join/${e(space)}`);
    await dave.post(`/join/${e(space)}`);
  });
  afterAll(() => server?.stop());

  it('lets a member of an allowed room join, authorised by a local member who may invite', async () => {
    const room = await alice.createRoom({ preset: 'private_chat', initial_state: [allowing('restricted', space)] });
    await carol.fails('POST', `/join/${e(room)}`, { status: 403, errcode: 'M_FORBIDDEN' });
    expect(await bob.post(`/rooms/${e(room)}/join`)).toEqual({ room_id: room });
    expect(await memberContent(bob, room, bob.userId)).toMatchObject({ membership: 'join', join_authorised_via_users_server: alice.userId });
    // Joining again (already joined) needs no authorisation.
    await bob.post(`/join/${e(room)}`);
    expect((await memberContent(bob, room, bob.userId)).join_authorised_via_users_server).toBeUndefined();
    // "If the user has an invite to the room then the restrictions will not affect them."
    await alice.post(`/rooms/${e(room)}/invite`, { user_id: carol.userId });
    await carol.post(`/join/${e(room)}`);
    expect(await memberContent(carol, room, carol.userId)).toEqual(expect.not.objectContaining({ join_authorised_via_users_server: expect.anything() }));
    expect((await memberContent(carol, room, carol.userId)).membership).toBe('join');
  });

  it('picks the local member with the most power, and refuses when none may invite', async () => {
    // Room version 10: no creator power; alice gives bob 100 and herself 50, invite needs 50.
    const room = await alice.createRoom({
      room_version: '10', preset: 'private_chat', invite: [bob.userId], initial_state: [allowing('restricted', space)],
      power_level_content_override: { users: { [alice.userId]: 100, [bob.userId]: 100 }, invite: 50 },
    });
    await bob.post(`/join/${e(room)}`);
    await alice.put(`/rooms/${e(room)}/state/m.room.power_levels`, { users: { [alice.userId]: 50, [bob.userId]: 100 }, invite: 50 });
    await dave.post(`/join/${e(room)}`);
    expect((await memberContent(dave, room, dave.userId)).join_authorised_via_users_server).toBe(bob.userId);
    await dave.post(`/rooms/${e(room)}/leave`);
    // Now nobody reaches the invite level: nobody can authorise the join.
    await bob.put(`/rooms/${e(room)}/state/m.room.power_levels`, { users: { [alice.userId]: 50, [bob.userId]: 60 }, invite: 70 });
    await dave.fails('POST', `/join/${e(room)}`, { status: 403, errcode: 'M_FORBIDDEN' });
    expect((await memberContent(bob, room, dave.userId)).membership).toBe('leave');
  });

  it('supports knock_restricted: members of an allowed room join, others may knock', async () => {
    const room = await alice.createRoom({ preset: 'private_chat', initial_state: [allowing('knock_restricted', space)] });
    await carol.fails('POST', `/join/${e(room)}`, { status: 403, errcode: 'M_FORBIDDEN' });
    expect(await carol.post(`/knock/${e(room)}`, { reason: 'let me in' })).toEqual({ room_id: room });
    expect((await memberContent(alice, room, carol.userId)).membership).toBe('knock');
    await dave.post(`/join/${e(room)}`);
    expect(await memberContent(dave, room, dave.userId)).toMatchObject({ membership: 'join', join_authorised_via_users_server: alice.userId });
  });

  it('treats the join rules as they are in room versions without them', async () => {
    // Version 7 has no restricted join rule: the auth rules refuse the join; no authorisation is made up.
    const v7 = await alice.createRoom({ room_version: '7', preset: 'private_chat', initial_state: [allowing('restricted', space)] });
    await bob.fails('POST', `/join/${e(v7)}`, { status: 403, errcode: 'M_FORBIDDEN' });
    // Version 9 has restricted but not knock_restricted.
    const v9 = await alice.createRoom({ room_version: '9', preset: 'private_chat', initial_state: [allowing('knock_restricted', space)] });
    await bob.fails('POST', `/join/${e(v9)}`, { status: 403, errcode: 'M_FORBIDDEN' });
    const v9Restricted = await alice.createRoom({ room_version: '9', preset: 'private_chat', initial_state: [allowing('restricted', space)] });
    await bob.post(`/join/${e(v9Restricted)}`);
    expect((await memberContent(bob, v9Restricted, bob.userId)).join_authorised_via_users_server).toBe(alice.userId);
  });

  it('stops letting a user in once they left the allowed room', async () => {
    const room = await alice.createRoom({ preset: 'private_chat', initial_state: [allowing('restricted', space)] });
    await dave.post(`/rooms/${e(space)}/leave`);
    await dave.fails('POST', `/join/${e(room)}`, { status: 403, errcode: 'M_FORBIDDEN' });
  });
});
