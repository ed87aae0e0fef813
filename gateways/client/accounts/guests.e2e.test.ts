// Guest access over HTTP in both deployments (client-server-api § Guest access, registration.yaml
// `kind=guest` and `guest_access_token`): the config switch, what a guest token may call, guests in
// rooms (m.room.guest_access), their removal when guest access is revoked, and the upgrade. With
// allow_guest_access off (the default), accounts.e2e.test.ts checks the 403 M_GUEST_ACCESS_FORBIDDEN.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, PASSWORD, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../../../test/harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('guest access (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;

  const registerGuest = async (body: Body = {}): Promise<UserClient> => {
    const answer = await client.ok('POST', '/register', { query: { kind: 'guest' }, json: body });
    return client.as({ userId: answer.user_id as string, accessToken: answer.access_token as string, deviceId: answer.device_id as string });
  };
  const membership = async (roomId: string, userId: string): Promise<string | undefined> => {
    const reply = await alice.request('GET', `/rooms/${e(roomId)}/state/m.room.member/${e(userId)}`);
    return reply.status === 404 ? undefined : (reply.body as { membership: string }).membership;
  };

  beforeAll(async () => {
    server = await startTestServer({ mode, config: { STRATA_ALLOW_GUEST_ACCESS: 'true' } });
    client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
  });
  afterAll(() => server?.stop());

  it('registers a guest with a numeric localpart, ignoring username and password; whoami says is_guest', async () => {
    const answer = await client.ok('POST', '/register', {
      query: { kind: 'guest' }, json: { username: 'mallory', password: 'secret', initial_device_display_name: 'Guest phone' },
    });
    expect(answer.user_id).toMatch(/^@\d+:/);
    expect(typeof answer.access_token).toBe('string');
    expect(typeof answer.device_id).toBe('string');
    expect(answer.refresh_token).toBeUndefined();
    const guest = client.as({ userId: answer.user_id as string, accessToken: answer.access_token as string, deviceId: answer.device_id as string });
    expect(await guest.get('/account/whoami')).toEqual({ user_id: answer.user_id, device_id: answer.device_id, is_guest: true });
    const second = await registerGuest();
    expect(Number(second.userId.slice(1, second.userId.indexOf(':')))).toBeGreaterThan(Number(guest.userId.slice(1, guest.userId.indexOf(':'))));
    // A guest has no password: it cannot log in.
    await client.fails('POST', '/login', { status: 403, errcode: 'M_FORBIDDEN' }, {
      json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: guest.userId }, password: 'secret' },
    });
    // Numeric user ids are the guests' (Synapse): nobody may register one.
    await client.fails('POST', '/register', { status: 400, errcode: 'M_INVALID_USERNAME' }, { json: { username: '12345', password: PASSWORD } });
  });

  it('lets guests use only the endpoints the spec (and Synapse) allow them', async () => {
    const guest = await registerGuest();
    const forbidden = { status: 403, errcode: 'M_GUEST_ACCESS_FORBIDDEN' };
    await guest.fails('POST', '/createRoom', forbidden, { json: {} });
    await guest.fails('GET', '/pushers', forbidden);
    await guest.fails('POST', '/logout', forbidden);
    await guest.fails('POST', '/user_directory/search', forbidden, { json: { search_term: 'a' } });
    await guest.fails('PUT', `/presence/${e(guest.userId)}/status`, forbidden, { json: { presence: 'online' } });
    await guest.fails('DELETE', `/devices/${e(guest.session.deviceId)}`, forbidden);
    await guest.fails('POST', '/account/deactivate', forbidden, { json: {} });
    // Of the profile, only the display name (§ Guest access, account maintenance).
    await guest.fails('PUT', `/profile/${e(guest.userId)}/avatar_url`, forbidden, { json: { avatar_url: 'mxc://x/y' } });

    const localpart = guest.userId.slice(1, guest.userId.indexOf(':'));
    expect(await guest.get(`/profile/${e(guest.userId)}/displayname`)).toEqual({ displayname: localpart });
    await guest.put(`/profile/${e(guest.userId)}/displayname`, { displayname: 'Visitor' });
    expect(await client.ok('GET', `/profile/${e(guest.userId)}`)).toMatchObject({ displayname: 'Visitor' });
    expect((await guest.get('/devices')).devices).toEqual([expect.objectContaining({ device_id: guest.session.deviceId })]);
    await guest.put(`/devices/${e(guest.session.deviceId)}`, { display_name: 'Kiosk' });
    expect(await guest.get(`/devices/${e(guest.session.deviceId)}`)).toMatchObject({ display_name: 'Kiosk' });
    expect(await guest.get('/capabilities')).toHaveProperty('capabilities');
    expect(await guest.get('/joined_rooms')).toEqual({ joined_rooms: [] });
    expect(await guest.post('/keys/query', { device_keys: { [guest.userId]: [] } })).toHaveProperty('device_keys');
    expect((await guest.sync()).next_batch).toEqual(expect.any(String));
    // A guest's event stream names its room (Synapse).
    await guest.fails('GET', '/events', { status: 400, errcode: 'M_MISSING_PARAM' });
  });

  it('lets a guest join only rooms whose m.room.guest_access is can_join, and marks its membership kind guest', async () => {
    const guest = await registerGuest();
    const closedRoom = await alice.createRoom({ preset: 'public_chat' });
    await guest.fails('POST', `/rooms/${e(closedRoom)}/join`, { status: 403, errcode: 'M_FORBIDDEN' }, { json: {} });
    // No side door: the member event through PUT state is judged the same way.
    await guest.fails('PUT', `/rooms/${e(closedRoom)}/state/m.room.member/${e(guest.userId)}`, { status: 403, errcode: 'M_FORBIDDEN' }, {
      json: { membership: 'join' },
    });
    expect(await membership(closedRoom, guest.userId)).toBeUndefined();
    // Of a room on another server this one holds no state: its guest access cannot be read (Synapse: 403).
    await guest.fails('POST', `/join/${e('!elsewhere:other.test')}`, { status: 403, errcode: 'M_FORBIDDEN' }, { json: {} });

    const open = await alice.createRoom({ preset: 'public_chat', initial_state: [{ type: 'm.room.guest_access', state_key: '', content: { guest_access: 'can_join' } }] });
    await guest.post(`/join/${e(open)}`);
    expect(await alice.get(`/rooms/${e(open)}/state/m.room.member/${e(guest.userId)}`)).toMatchObject({ membership: 'join', kind: 'guest' });
    await guest.send(open, 'hello from a guest');
    // Guests may not invite, kick or ban (Synapse: only join and leave).
    await guest.fails('POST', `/rooms/${e(open)}/invite`, { status: 403, errcode: 'M_GUEST_ACCESS_FORBIDDEN' }, { json: { user_id: alice.userId } });
    // Nor through PUT state, which guests may use (since v1.2): the decider holds them to join and leave.
    const carol = client.as(await client.register('carol'));
    await guest.fails('PUT', `/rooms/${e(open)}/state/m.room.member/${e(carol.userId)}`, { status: 403, errcode: 'M_FORBIDDEN' }, {
      json: { membership: 'invite' },
    });
    expect(await membership(open, carol.userId)).toBeUndefined();
    await guest.post(`/rooms/${e(open)}/leave`);
    expect(await membership(open, guest.userId)).toBe('leave');
  });

  it('makes guests leave when guest access is revoked, and keeps ordinary members', async () => {
    const [guest, other] = [await registerGuest(), await registerGuest()];
    const bob = client.as(await client.register('bob'));
    const room = await alice.createRoom({ preset: 'public_chat', initial_state: [{ type: 'm.room.guest_access', state_key: '', content: { guest_access: 'can_join' } }] });
    await guest.post(`/rooms/${e(room)}/join`);
    await other.post(`/rooms/${e(room)}/join`);
    await bob.post(`/rooms/${e(room)}/join`);
    await alice.put(`/rooms/${e(room)}/state/m.room.guest_access`, { guest_access: 'forbidden' });
    expect(await membership(room, guest.userId)).toBe('leave');
    expect(await membership(room, other.userId)).toBe('leave');
    expect(await membership(room, bob.userId)).toBe('join');
    // Each guest leaves by its own event, as Synapse's kick_guest_users: no power level is needed.
    const state = (await alice.client.ok('GET', `/rooms/${e(room)}/state`, { token: alice.session.accessToken })) as unknown as Body[];
    expect(state.find((ev) => ev.type === 'm.room.member' && ev.state_key === guest.userId)?.sender).toBe(guest.userId);
    await guest.fails('POST', `/rooms/${e(room)}/join`, { status: 403, errcode: 'M_FORBIDDEN' }, { json: {} });
  });

  it('upgrades a guest to an ordinary account with the same user id', async () => {
    const guest = await registerGuest();
    const room = await alice.createRoom({ preset: 'public_chat', initial_state: [{ type: 'm.room.guest_access', state_key: '', content: { guest_access: 'can_join' } }] });
    await guest.post(`/rooms/${e(room)}/join`);
    const localpart = guest.userId.slice(1, guest.userId.indexOf(':'));
    const token = { token: guest.session.accessToken };
    // Another user's name, or a token that is no guest's, cannot take the account.
    await client.fails('POST', '/register', { status: 403, errcode: 'M_FORBIDDEN' }, {
      ...token, json: { username: 'someoneelse', password: PASSWORD, guest_access_token: guest.session.accessToken },
    });
    await client.fails('POST', '/register', { status: 403, errcode: 'M_FORBIDDEN' }, {
      json: { username: 'alice', password: PASSWORD, guest_access_token: alice.session.accessToken },
    });
    const challenge = await client.request('POST', '/register', { ...token, json: { username: localpart, password: PASSWORD, guest_access_token: guest.session.accessToken } });
    expect(challenge.status).toBe(401);
    const done = await client.ok('POST', '/register', {
      ...token,
      json: { username: localpart, password: PASSWORD, guest_access_token: guest.session.accessToken, auth: { type: 'm.login.dummy', session: challenge.body.session } },
    });
    expect(done.user_id).toBe(guest.userId);
    const upgraded = client.as({ userId: done.user_id as string, accessToken: done.access_token as string, deviceId: done.device_id as string });
    expect(await upgraded.get('/account/whoami')).toMatchObject({ user_id: guest.userId, is_guest: false });
    // The guest token is gone (as Synapse's); the account now logs in and may do what users do.
    await client.fails('GET', '/account/whoami', { status: 401, errcode: 'M_UNKNOWN_TOKEN' }, token);
    expect((await client.login(guest.userId)).userId).toBe(guest.userId);
    expect(await upgraded.createRoom()).toMatch(/^!/);
    expect(await membership(room, guest.userId)).toBe('join');
    // No guest any more: ending guest access leaves it in the room (its join still says kind guest).
    await alice.put(`/rooms/${e(room)}/state/m.room.guest_access`, { guest_access: 'forbidden' });
    expect(await membership(room, guest.userId)).toBe('join');
  });

  it('a guest peeks a world_readable room, joins a can_join one, reads its history, sends and receives a reply', async () => {
    const guest = await registerGuest();
    const lobby = await alice.createRoom({
      preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }],
    });
    await alice.send(lobby, 'welcome, readers');
    const peeked = await guest.get(`/rooms/${e(lobby)}/messages`, { dir: 'b' });
    expect((peeked.chunk as Body[]).map((ev) => ev.content.body)).toContain('welcome, readers');
    const initial = await guest.get(`/rooms/${e(lobby)}/initialSync`);
    expect((initial.messages.chunk as Body[]).map((ev) => ev.content.body)).toContain('welcome, readers');
    expect((await guest.get('/events', { room_id: lobby, timeout: 0 })).chunk).toEqual(expect.any(Array));

    const hall = await alice.createRoom({
      preset: 'public_chat',
      initial_state: [
        { type: 'm.room.guest_access', state_key: '', content: { guest_access: 'can_join' } },
        { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'shared' } },
      ],
    });
    await alice.send(hall, 'before the guest came');
    await guest.post(`/rooms/${e(hall)}/join`);
    const history = await guest.get(`/rooms/${e(hall)}/messages`, { dir: 'b' });
    expect((history.chunk as Body[]).map((ev) => ev.content.body)).toContain('before the guest came');
    const first = await guest.sync();
    await guest.send(hall, 'hi, I am a guest');
    await alice.syncUntil((response) => ((response.rooms?.join?.[hall]?.timeline?.events ?? []) as Body[])
      .some((ev) => ev.content.body === 'hi, I am a guest'));
    await alice.send(hall, 'welcome, guest');
    await guest.syncUntil((response) => ((response.rooms?.join?.[hall]?.timeline?.events ?? []) as Body[])
      .some((ev) => ev.content.body === 'welcome, guest'), { since: first.next_batch as string });
  });
});
