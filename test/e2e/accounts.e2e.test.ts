// Account deactivation end to end, in both deployments: the leave events go through the rooms
// use-cases and the room log (embedded or Kafka). Expectations: account_deactivation.yaml, and
// Synapse where the spec is silent (M_USER_DEACTIVATED on login, the user id stays taken).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MatrixClient, PASSWORD, e, startTestServer,
  type ServerMode, type TestServer, type UserClient,
} from '../harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('account deactivation (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let carol: UserClient;

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    [alice, carol] = await Promise.all(['alice', 'carol'].map(async (name) => client.as(await client.register(name))));
  });
  afterAll(() => server?.stop());

  it('deactivates behind password UIA: no login, no tokens, no rooms, no profile, id kept', async () => {
    const joined = await alice.createRoom({ preset: 'public_chat' });
    await carol.post(`/join/${e(joined)}`);
    const invitedTo = await alice.createRoom();
    await alice.post(`/rooms/${e(invitedTo)}/invite`, { user_id: carol.userId });
    await carol.put(`/profile/${e(carol.userId)}/avatar_url`, { avatar_url: 'mxc://example.org/abc' });
    const secondDevice = await client.login(carol.userId, { deviceId: 'LAPTOP' });

    // A session is bound to its request's parameters: every stage repeats `erase`.
    const challenge = await carol.request('POST', '/account/deactivate', { json: { erase: true } });
    expect(challenge.status).toBe(401);
    expect(challenge.body).toMatchObject({ flows: [{ stages: ['m.login.password'] }], session: expect.any(String) });
    const wrong = await carol.request('POST', '/account/deactivate', {
      json: { erase: true, auth: { type: 'm.login.password', session: challenge.body.session, identifier: { type: 'm.id.user', user: carol.userId }, password: 'nope' } },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ errcode: 'M_FORBIDDEN', session: challenge.body.session });
    expect(await carol.post('/account/deactivate', {
      erase: true,
      auth: { type: 'm.login.password', session: challenge.body.session, identifier: { type: 'm.id.user', user: carol.userId }, password: PASSWORD },
    })).toEqual({ id_server_unbind_result: 'success' });

    for (const token of [carol.session.accessToken, secondDevice.accessToken]) {
      await client.fails('GET', '/account/whoami', { status: 401, errcode: 'M_UNKNOWN_TOKEN' }, { token });
    }
    await client.fails('POST', '/login', { status: 403, errcode: 'M_USER_DEACTIVATED' }, {
      json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: carol.userId }, password: PASSWORD },
    });
    await client.fails('POST', '/register', { status: 400, errcode: 'M_USER_IN_USE' }, {
      json: { username: 'carol', password: 'pw', auth: { type: 'm.login.dummy' } },
    });
    // The profile lost its displayname and avatar (Synapse clears both).
    expect(await client.ok('GET', `/profile/${e(carol.userId)}`)).toEqual({});

    // Carol left the joined room and rejected the invite: a leave event of hers in each.
    for (const roomId of [joined, invitedTo]) {
      const member = await alice.get(`/rooms/${e(roomId)}/state/m.room.member/${e(carol.userId)}`, { format: 'event' });
      expect(member).toMatchObject({ sender: carol.userId, content: { membership: 'leave' } });
    }
    expect((await alice.get(`/rooms/${e(joined)}/joined_members`)).joined).not.toHaveProperty([carol.userId]);
  });

  it('defaults the well-known base_url to the listener', async () => {
    const response = await fetch(`${server.url}/.well-known/matrix/client`);
    expect(await response.json()).toEqual({ 'm.homeserver': { base_url: server.url } });
  });

  it('works without an access token, the password naming the account', async () => {
    const dave = await client.register('dave');
    const first = await client.request('POST', '/account/deactivate', { json: {} });
    expect(first.status).toBe(401);
    const auth = { type: 'm.login.password', session: first.body.session, identifier: { type: 'm.id.user', user: 'dave' }, password: PASSWORD };
    expect(await client.ok('POST', '/account/deactivate', { json: { auth } })).toEqual({ id_server_unbind_result: 'success' });
    await client.fails('GET', '/account/whoami', { status: 401, errcode: 'M_UNKNOWN_TOKEN' }, { token: dave.accessToken });
  });
});
