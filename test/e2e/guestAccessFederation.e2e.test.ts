// Guest access ended by another server (client-server-api § Guest access, Server behaviour): when an
// m.room.guest_access taken in over federation stops saying can_join, this server's guests in the
// room leave, as when a local member changes it (gateways/client/accounts/guests.e2e.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FEDERATION_ON_LOOPBACK, MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer } from '../harness/index.ts';
import { startFakeRemoteServer, type FakeRemoteServer } from '../harness/fakeRemoteServer.ts';
import { joinAsRemote } from '../harness/remoteMember.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('guest access ended by another server (%s)', (mode) => {
  let server: TestServer;
  let remote: FakeRemoteServer;

  beforeAll(async () => {
    server = await startTestServer({ mode, config: { ...FEDERATION_ON_LOOPBACK, STRATA_ALLOW_GUEST_ACCESS: 'true' } });
    remote = await startFakeRemoteServer(server);
  });
  afterAll(async () => {
    await remote?.stop();
    await server?.stop();
  });

  it("makes this server's guests leave when a remote member's m.room.guest_access ends it", async () => {
    const client = new MatrixClient(server.url);
    const alice = client.as(await client.register('alice'));
    const room = await alice.createRoom({ preset: 'public_chat', initial_state: [{ type: 'm.room.guest_access', state_key: '', content: { guest_access: 'can_join' } }] });
    const mallory = await joinAsRemote(remote, alice, room, 'mallory');
    const levels = await alice.get(`/rooms/${e(room)}/state/m.room.power_levels`);
    await alice.put(`/rooms/${e(room)}/state/m.room.power_levels`, { ...levels, users: { ...(levels.users as Body), [mallory.userId]: 50 } });
    const registered = await client.ok('POST', '/register', { query: { kind: 'guest' }, json: {} });
    const guest = client.as({ userId: registered.user_id as string, accessToken: registered.access_token as string, deviceId: registered.device_id as string });
    await guest.post(`/rooms/${e(room)}/join`);

    const revoke = await mallory.build({ type: 'm.room.guest_access', stateKey: '', content: { guest_access: 'forbidden' } });
    const answer = await mallory.send([revoke.pdu]);
    expect([answer.status, answer.body.pdus?.[revoke.eventId]]).toEqual([200, {}]);
    expect(await alice.get(`/rooms/${e(room)}/state/m.room.member/${e(guest.userId)}`)).toMatchObject({ membership: 'leave' });
    expect(await alice.get(`/rooms/${e(room)}/state/m.room.member/${e(alice.userId)}`)).toMatchObject({ membership: 'join' });
    await guest.fails('POST', `/rooms/${e(room)}/join`, { status: 403, errcode: 'M_FORBIDDEN' }, { json: {} });
  });
});
