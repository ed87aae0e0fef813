// The client-server API end to end, over HTTP, as a client uses it: one suite run against the whole
// server (infra/strata.ts) in both deployments. Expectations come from the spec (v1.19,
// client-server-api and data/api/client-server/*.yaml); a deviation from it fails here.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MatrixClient, e, ephemeralOf, inviteStateOf, messageBodies, startTestServer, timelineOf,
  type Body, type ServerMode, type TestServer, type UserClient,
} from '../harness/index.ts';

const BAD_VALUE = ['M_BAD_JSON', 'M_INVALID_PARAM'];
const stateOf = (events: Body[], type: string, stateKey = ''): Body | undefined =>
  events.find((event) => event.type === type && event.state_key === stateKey);

describe.each<ServerMode>(['embedded', 'distributed'])('the client-server API (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  /** alice's private room that bob joins; most timeline tests run in it. */
  let hall: string;
  /** bob's sync position after he joined the hall. */
  let bobSince: string;
  const room = (roomId: string, rest = ''): string => `/rooms/${e(roomId)}${rest}`;

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => client.as(await client.register(name))));
  });
  afterAll(() => server?.stop());

  it('registers through user-interactive auth (401 with a session, then 200) and refuses a taken name', async () => {
    const challenge = await client.request('POST', '/register', { json: { username: 'dave', password: 'pw' } });
    expect(challenge.status).toBe(401);
    expect(challenge.body).toMatchObject({ flows: expect.arrayContaining([{ stages: ['m.login.dummy'] }]), session: expect.any(String) });
    const done = await client.ok('POST', '/register', {
      json: { username: 'dave', password: 'pw', auth: { type: 'm.login.dummy', session: challenge.body.session } },
    });
    expect(done).toMatchObject({ user_id: `@dave:${server.serverName}`, access_token: expect.any(String), device_id: expect.any(String) });
    await client.fails('POST', '/register', { status: 400, errcode: 'M_USER_IN_USE' },
      { json: { username: 'dave', password: 'pw', auth: { type: 'm.login.dummy' } } });
  });

  it('registers an admin with the shared secret', async () => {
    const admin = await client.registerWithSharedSecret(server.registrationSharedSecret, 'root', { admin: true });
    expect(admin.userId).toBe(`@root:${server.serverName}`);
    expect(await client.as(admin).get('/account/whoami')).toMatchObject({ user_id: admin.userId, device_id: admin.deviceId });
    await client.fails('POST', '/_synapse/admin/v1/register', { status: 403, errcode: 'M_FORBIDDEN' }, {
      json: { nonce: (await client.ok('GET', '/_synapse/admin/v1/register')).nonce, username: 'eve', password: 'pw', mac: '00' },
    });
  });

  it('logs in, answers whoami, lists and renames devices, and logs out', async () => {
    const phone = client.as(await client.login(alice.userId, { deviceId: 'PHONE' }));
    expect(await phone.get('/account/whoami')).toEqual({ user_id: alice.userId, device_id: 'PHONE', is_guest: false });
    const devices = (await alice.get('/devices')).devices as Body[];
    expect(devices.map((device) => device.device_id).sort()).toEqual([alice.session.deviceId, 'PHONE'].sort());
    await alice.put('/devices/PHONE', { display_name: 'Phone' });
    expect(await alice.get('/devices/PHONE')).toMatchObject({ device_id: 'PHONE', display_name: 'Phone' });
    await alice.fails('GET', '/devices/NOSUCH', { status: 404, errcode: 'M_NOT_FOUND' });
    await client.fails('POST', '/login', { status: 403, errcode: 'M_FORBIDDEN' },
      { json: { type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.userId }, password: 'wrong' } });
    expect(await phone.post('/logout')).toEqual({});
    await phone.fails('GET', '/account/whoami', { status: 401, errcode: 'M_UNKNOWN_TOKEN' });
  });

  it('creates rooms with the spec’s events in the spec’s order, room version 12 by default', async () => {
    hall = await alice.createRoom({
      preset: 'private_chat', name: 'Hall', topic: 'talk', room_alias_name: 'hall', invite: [bob.userId],
      initial_state: [{ type: 'org.example.setting', state_key: 'colour', content: { value: 'blue' } }],
    });
    // Since room version 12 the room ID is the create event's reference hash, with no server name.
    expect(hall).toMatch(/^![A-Za-z0-9_-]{43}$/);
    const events = (await alice.get(room(hall, '/messages'), { dir: 'f', limit: 50 })).chunk as Body[];
    expect(events.map((event) => [event.type, event.state_key])).toEqual([
      ['m.room.create', ''], ['m.room.member', alice.userId], ['m.room.power_levels', ''], ['m.room.canonical_alias', ''],
      ['m.room.join_rules', ''], ['m.room.history_visibility', ''], ['m.room.guest_access', ''],
      ['org.example.setting', 'colour'], ['m.room.name', ''], ['m.room.topic', ''], ['m.room.member', bob.userId],
    ]);
    expect(events[0]!.content).toMatchObject({ room_version: '12' });
    expect(events[0]!.content.creator).toBeUndefined();
    // Since v12 the creator has infinite power and is not listed in users.
    expect(events[2]!.content.users?.[alice.userId]).toBeUndefined();
    expect(events.slice(3, 9).map((event) => event.content)).toEqual([
      { alias: `#hall:${server.serverName}` }, { join_rule: 'invite' }, { history_visibility: 'shared' }, { guest_access: 'can_join' },
      { value: 'blue' }, { name: 'Hall' },
    ]);
    // Since v1.15 the topic carries an m.topic content block too (event-schemas m.room.topic).
    expect(events[9]!.content).toEqual({ topic: 'talk', 'm.topic': { 'm.text': [{ mimetype: 'text/plain', body: 'talk' }] } });
    expect(events[10]!.content.membership).toBe('invite');

    const v10 = await alice.createRoom({ room_version: '10', preset: 'public_chat' });
    expect(v10).toMatch(new RegExp(`^![^:]+:${server.serverName.replace('.', '\\.')}$`));
    const v10State = (await alice.get(room(v10, '/state'))) as unknown as Body[];
    expect(stateOf(v10State, 'm.room.create')?.content).toMatchObject({ room_version: '10', creator: alice.userId });
    expect(stateOf(v10State, 'm.room.power_levels')?.content.users).toEqual({ [alice.userId]: 100 });
    expect(stateOf(v10State, 'm.room.join_rules')?.content).toEqual({ join_rule: 'public' });
    expect(stateOf(v10State, 'm.room.guest_access')?.content).toEqual({ guest_access: 'forbidden' });

    // trusted_private_chat: invitees get the creator's power; since v12 by becoming additional creators.
    const trusted10 = (await alice.get(room(await alice.createRoom({ preset: 'trusted_private_chat', room_version: '10', invite: [carol.userId] }), '/state'))) as unknown as Body[];
    expect(stateOf(trusted10, 'm.room.power_levels')?.content.users).toEqual({ [alice.userId]: 100, [carol.userId]: 100 });
    const trusted12 = (await alice.get(room(await alice.createRoom({ preset: 'trusted_private_chat', invite: [carol.userId] }), '/state'))) as unknown as Body[];
    expect(stateOf(trusted12, 'm.room.create')?.content.additional_creators).toEqual([carol.userId]);
    expect(stateOf(trusted12, 'm.room.power_levels')?.content.users).toEqual({});
    await alice.fails('POST', '/createRoom', { status: 400, errcode: 'M_UNSUPPORTED_ROOM_VERSION' }, { json: { room_version: '999' } });
    await alice.fails('POST', '/createRoom', { status: 400, errcode: 'M_ROOM_IN_USE' }, { json: { room_alias_name: 'hall' } });
  });

  it('shows the invite in the invitee’s /sync; after the join both see each other’s messages', async () => {
    const invited = await bob.syncUntil((sync) => inviteStateOf(sync, hall) !== undefined);
    const inviteState = inviteStateOf(invited, hall)!;
    expect(stateOf(inviteState, 'm.room.name')?.content).toEqual({ name: 'Hall' });
    expect(stateOf(inviteState, 'm.room.member', bob.userId)?.content.membership).toBe('invite');

    expect(await bob.post(`/join/${e(hall)}`)).toEqual({ room_id: hall });
    const joined = await bob.syncUntil((sync) => sync.rooms?.join?.[hall] !== undefined, { since: invited.next_batch });
    expect(timelineOf(joined, hall).at(-1)).toMatchObject({ type: 'm.room.member', state_key: bob.userId, content: { membership: 'join' } });
    const aliceBase = (await alice.sync()).next_batch as string;

    const fromAlice = await alice.send(hall, 'hello bob');
    const bobSees = await bob.syncUntil((sync) => timelineOf(sync, hall).some((ev) => ev.event_id === fromAlice), { since: joined.next_batch });
    expect(timelineOf(bobSees, hall).find((ev) => ev.event_id === fromAlice)).toMatchObject({
      sender: alice.userId, type: 'm.room.message', content: { msgtype: 'm.text', body: 'hello bob' },
    });
    const fromBob = await bob.send(hall, 'hello alice');
    const aliceSees = await alice.syncUntil((sync) => timelineOf(sync, hall).some((ev) => ev.event_id === fromBob), { since: aliceBase });
    expect(messageBodies(timelineOf(aliceSees, hall)).at(-1)).toBe('hello alice');
    bobSince = bobSees.next_batch as string;
  });

  it('wakes a long-polling /sync when another user sends', async () => {
    const base = (await bob.sync({ since: bobSince })).next_batch as string;
    const started = Date.now();
    const waiting = bob.sync({ since: base, timeout: 60_000 });
    const sent = await alice.send(hall, 'wake up');
    const woken = await waiting;
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(timelineOf(woken, hall).map((ev) => ev.event_id)).toEqual([sent]);
    expect(woken.rooms.join[hall].timeline.limited).toBe(false);
    bobSince = woken.next_batch as string;
  });

  it('pages /messages backwards from /sync’s prev_batch and forwards again', async () => {
    const sent: string[] = [];
    for (let i = 0; i < 6; i++) sent.push(await alice.send(hall, `page ${i}`));
    const synced = await bob.syncUntil((sync) => timelineOf(sync, hall).some((ev) => ev.event_id === sent[5]),
      { since: bobSince, filter: JSON.stringify({ room: { timeline: { limit: 2 } } }) });
    const timeline = synced.rooms.join[hall].timeline;
    expect(messageBodies(timeline.events)).toEqual(['page 4', 'page 5']);
    expect(timeline.limited).toBe(true);
    const back = await bob.get(room(hall, '/messages'), { dir: 'b', limit: 3, from: timeline.prev_batch });
    expect(back.start).toBe(timeline.prev_batch);
    expect(back.chunk.map((ev: Body) => ev.event_id)).toEqual([sent[3], sent[2], sent[1]]);
    // Tokens are positions between events: forwards from `end` (just before page 1) starts with page 1.
    const forward = await bob.get(room(hall, '/messages'), { dir: 'f', limit: 4, from: back.end });
    expect(forward.chunk.map((ev: Body) => ev.event_id)).toEqual([sent[1], sent[2], sent[3], sent[4]]);
    bobSince = synced.next_batch as string;
  });

  it('reads and writes state, and refuses state a member may not send', async () => {
    const { event_id: topicId } = await alice.put(room(hall, '/state/m.room.topic'), { topic: 'new topic' });
    expect(topicId).toMatch(/^\$/);
    expect(await bob.get(room(hall, '/state/m.room.topic'))).toMatchObject({ topic: 'new topic' });
    await alice.put(room(hall, `/state/org.example.setting/${e('size')}`), { value: 'large' });
    const state = (await bob.get(room(hall, '/state'))) as unknown as Body[];
    expect(stateOf(state, 'org.example.setting', 'size')?.content).toEqual({ value: 'large' });
    expect(stateOf(state, 'org.example.setting', 'colour')?.content).toEqual({ value: 'blue' });
    await bob.fails('PUT', room(hall, '/state/m.room.name'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { name: 'Mine' } });
    await bob.fails('GET', room(hall, '/state/m.room.avatar'), { status: 404, errcode: 'M_NOT_FOUND' });
  });

  it('redacts an event for everyone', async () => {
    const message = await bob.send(hall, 'oops');
    await bob.fails('PUT', room(hall, `/redact/${e(await alice.send(hall, 'mine'))}/r0`), { status: 403, errcode: 'M_FORBIDDEN' }, { json: {} });
    const { event_id: redaction } = await alice.put(room(hall, `/redact/${e(message)}/r1`), { reason: 'typo' });
    const seen = await bob.syncUntil((sync) => timelineOf(sync, hall).some((ev) => ev.event_id === redaction), { since: bobSince });
    // Since v11 `redacts` is a content property.
    expect(timelineOf(seen, hall).find((ev) => ev.event_id === redaction)).toMatchObject({
      type: 'm.room.redaction', sender: alice.userId, content: { redacts: message, reason: 'typo' },
    });
    const redacted = await bob.get(room(hall, `/event/${e(message)}`));
    expect(redacted.content).toEqual({});
    expect(redacted.unsigned.redacted_because).toMatchObject({ event_id: redaction });
    bobSince = seen.next_batch as string;
  });

  it('shows typing and read receipts as ephemeral events', async () => {
    const base = (await alice.sync()).next_batch as string;
    await bob.put(room(hall, `/typing/${e(bob.userId)}`), { typing: true, timeout: 30_000 });
    const typing = await alice.syncUntil((sync) => ephemeralOf(sync, hall).some((ev) => ev.type === 'm.typing'), { since: base });
    expect(ephemeralOf(typing, hall).find((ev) => ev.type === 'm.typing')?.content).toEqual({ user_ids: [bob.userId] });
    const latest = await alice.send(hall, 'read me');
    await bob.post(room(hall, `/receipt/m.read/${e(latest)}`), {});
    const receipt = await alice.syncUntil((sync) => ephemeralOf(sync, hall).some((ev) => ev.type === 'm.receipt'), { since: typing.next_batch });
    expect(ephemeralOf(receipt, hall).find((ev) => ev.type === 'm.receipt')?.content).toEqual({
      [latest]: { 'm.read': { [bob.userId]: { ts: expect.any(Number) } } },
    });
    await bob.put(room(hall, `/typing/${e(bob.userId)}`), { typing: false });
    const stopped = await alice.syncUntil((sync) => ephemeralOf(sync, hall).some((ev) => ev.type === 'm.typing'), { since: receipt.next_batch });
    expect(ephemeralOf(stopped, hall).find((ev) => ev.type === 'm.typing')?.content).toEqual({ user_ids: [] });
  });

  it('delivers a to-device message exactly once', async () => {
    const base = (await bob.sync()).next_batch as string;
    const messages = { [bob.userId]: { [bob.session.deviceId]: { secret: 'for bob' } } };
    await alice.put('/sendToDevice/org.example.ping/td1', { messages });
    // A retry with the same transaction id is the same request: it is not delivered again.
    await alice.put('/sendToDevice/org.example.ping/td1', { messages });
    const first = await bob.syncUntil((sync) => (sync.to_device?.events ?? []).length > 0, { since: base });
    expect(first.to_device.events).toEqual([{ sender: alice.userId, type: 'org.example.ping', content: { secret: 'for bob' } }]);
    const next = await bob.sync({ since: first.next_batch });
    expect(next.to_device?.events ?? []).toEqual([]);
  });

  it('uploads, queries and claims end-to-end encryption keys', async () => {
    const { userId } = bob;
    const { deviceId } = bob.session;
    const deviceKeys = {
      user_id: userId, device_id: deviceId, algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
      keys: { [`curve25519:${deviceId}`]: 'curve-key', [`ed25519:${deviceId}`]: 'ed-key' },
      signatures: { [userId]: { [`ed25519:${deviceId}`]: 'c2lnbmF0dXJl' } },
    };
    const uploaded = await bob.post('/keys/upload', { device_keys: deviceKeys, one_time_keys: { 'signed_curve25519:AAAAHg': { key: 'otk', signatures: {} } } });
    expect(uploaded).toEqual({ one_time_key_counts: { signed_curve25519: 1 } });
    const queried = await alice.post('/keys/query', { device_keys: { [userId]: [] } });
    expect(queried.device_keys[userId][deviceId]).toMatchObject(deviceKeys);
    const claim = { one_time_keys: { [userId]: { [deviceId]: 'signed_curve25519' } } };
    expect((await alice.post('/keys/claim', claim)).one_time_keys).toEqual({ [userId]: { [deviceId]: { 'signed_curve25519:AAAAHg': { key: 'otk', signatures: {} } } } });
    expect((await alice.post('/keys/claim', claim)).one_time_keys[userId]?.[deviceId]).toBeUndefined();
  });

  it('stores global and per-room account data and syncs it', async () => {
    const base = (await bob.sync()).next_batch as string;
    await bob.put(`/user/${e(bob.userId)}/account_data/org.example.prefs`, { theme: 'dark' });
    await bob.put(`/user/${e(bob.userId)}/rooms/${e(hall)}/account_data/org.example.draft`, { text: 'hi' });
    expect(await bob.get(`/user/${e(bob.userId)}/account_data/org.example.prefs`)).toEqual({ theme: 'dark' });
    expect(await bob.get(`/user/${e(bob.userId)}/rooms/${e(hall)}/account_data/org.example.draft`)).toEqual({ text: 'hi' });
    await alice.fails('GET', `/user/${e(bob.userId)}/account_data/org.example.prefs`, { status: 403, errcode: 'M_FORBIDDEN' });
    await bob.fails('GET', `/user/${e(bob.userId)}/account_data/org.example.none`, { status: 404, errcode: 'M_NOT_FOUND' });
    const synced = await bob.syncUntil((sync) => sync.rooms?.join?.[hall]?.account_data?.events?.length > 0, { since: base });
    expect(synced.account_data.events).toContainEqual({ type: 'org.example.prefs', content: { theme: 'dark' } });
    expect(synced.rooms.join[hall].account_data.events).toEqual([{ type: 'org.example.draft', content: { text: 'hi' } }]);
  });

  it('puts the new display name into the member event of every joined room', async () => {
    await bob.put(`/profile/${e(bob.userId)}/displayname`, { displayname: 'Bobby' });
    expect(await client.ok('GET', `/profile/${e(bob.userId)}`)).toMatchObject({ displayname: 'Bobby' });
    expect(await alice.get(room(hall, `/state/m.room.member/${e(bob.userId)}`))).toMatchObject({ membership: 'join', displayname: 'Bobby' });
    const seen = await alice.syncUntil((sync) => timelineOf(sync, hall).some((ev) => ev.type === 'm.room.member' && ev.content.displayname === 'Bobby'));
    expect(seen.rooms.join[hall]).toBeDefined();
  });

  it('kicks, bans, unbans, and forgets only rooms that were left', async () => {
    const lounge = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${e(lounge)}`);
    await alice.post(room(lounge, '/kick'), { user_id: bob.userId, reason: 'cool off' });
    expect(await alice.get(room(lounge, `/state/m.room.member/${e(bob.userId)}`))).toMatchObject({ membership: 'leave', reason: 'cool off' });
    await bob.post(room(lounge, '/join'));
    await alice.post(room(lounge, '/ban'), { user_id: bob.userId });
    await bob.fails('POST', room(lounge, '/join'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: {} });
    await bob.fails('POST', room(lounge, '/kick'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { user_id: alice.userId } });
    await alice.post(room(lounge, '/unban'), { user_id: bob.userId });
    expect(await alice.get(room(lounge, `/state/m.room.member/${e(bob.userId)}`))).toMatchObject({ membership: 'leave' });
    await bob.post(room(lounge, '/join'));
    await bob.fails('POST', room(lounge, '/forget'), { status: 400, errcode: 'M_UNKNOWN' }, { json: {} });
    await bob.post(room(lounge, '/leave'));
    const withLeave = JSON.stringify({ room: { include_leave: true } });
    expect((await bob.sync({ filter: withLeave })).rooms.leave[lounge]).toBeDefined();
    await bob.post(room(lounge, '/forget'));
    expect((await bob.sync({ filter: withLeave })).rooms?.leave?.[lounge]).toBeUndefined();
    expect((await bob.get('/joined_rooms')).joined_rooms).not.toContain(lounge);
  });

  it('maps aliases, publishes to the room directory and lists /publicRooms', async () => {
    const plaza = await alice.createRoom({ preset: 'public_chat', name: 'Plaza', topic: 'everyone', room_alias_name: 'plaza', visibility: 'public' });
    const alias = `#plaza:${server.serverName}`;
    expect(await client.ok('GET', `/directory/room/${e(alias)}`)).toEqual({ room_id: plaza, servers: [server.serverName] });
    await alice.put(`/directory/room/${e(`#square:${server.serverName}`)}`, { room_id: plaza });
    expect((await alice.get(room(plaza, '/aliases'))).aliases.sort()).toEqual([alias, `#square:${server.serverName}`]);
    await alice.delete(`/directory/room/${e(`#square:${server.serverName}`)}`);
    await client.fails('GET', `/directory/room/${e(`#square:${server.serverName}`)}`, { status: 404, errcode: 'M_NOT_FOUND' });
    expect(await client.ok('GET', `/directory/list/room/${e(plaza)}`)).toEqual({ visibility: 'public' });
    const listed = await client.ok('GET', '/publicRooms');
    expect(listed.chunk).toContainEqual(expect.objectContaining({
      room_id: plaza, name: 'Plaza', topic: 'everyone', canonical_alias: alias, num_joined_members: 1,
      world_readable: false, guest_can_join: false, join_rule: 'public',
    }));
    expect(listed.chunk.some((entry: Body) => entry.room_id === hall)).toBe(false);
    expect((await bob.post('/publicRooms', { filter: { generic_search_term: 'Plaza' } })).chunk.map((entry: Body) => entry.room_id)).toEqual([plaza]);
    expect(await bob.post(`/join/${e(alias)}`)).toEqual({ room_id: plaza });
  });

  it('upgrades a room: tombstone in the old room, predecessor in the new one', async () => {
    const old = await alice.createRoom({ room_version: '10', name: 'Old', invite: [bob.userId] });
    await bob.post(`/join/${e(old)}`);
    const base = (await bob.sync()).next_batch as string;
    const { replacement_room: replacement } = await alice.post(room(old, '/upgrade'), { new_version: '12' });
    const seen = await bob.syncUntil((sync) => timelineOf(sync, old).some((ev) => ev.type === 'm.room.tombstone'), { since: base });
    expect(timelineOf(seen, old).find((ev) => ev.type === 'm.room.tombstone')?.content).toMatchObject({ replacement_room: replacement });
    expect(await alice.get(room(replacement, '/state/m.room.create'))).toMatchObject({ room_version: '12', predecessor: { room_id: old } });
    expect(await alice.get(room(replacement, '/state/m.room.name'))).toEqual({ name: 'Old' });
    await bob.fails('POST', room(old, '/upgrade'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { new_version: '12' } });
    await alice.fails('POST', room(replacement, '/upgrade'), { status: 400, errcode: 'M_UNSUPPORTED_ROOM_VERSION' }, { json: { new_version: '999' } });
  });

  it('answers malformed requests with the spec’s error codes', async () => {
    await alice.fails('PUT', room(hall, '/send/m.room.message/nj'), { status: 400, errcode: 'M_NOT_JSON' }, { raw: '{"body": "unterminated' });
    await alice.fails('POST', '/createRoom', { status: 400, errcode: 'M_BAD_JSON' }, { raw: '[1, 2]' });
    for (const [path, json] of [['/createRoom', { name: 42 }], [room(hall, '/invite'), { user_id: 42 }], [`/profile/${e(alice.userId)}/displayname`, { displayname: ['x'] }]] as const) {
      const reply = await alice.request(path.includes('profile') ? 'PUT' : 'POST', path, { json });
      expect({ path, status: reply.status, bad: BAD_VALUE.includes(reply.body.errcode as string) }).toEqual({ path, status: 400, bad: true });
    }
    // Events are limited to 65,536 bytes as PDUs (client-server-api § Size limits).
    await alice.fails('PUT', room(hall, '/send/m.room.message/big'), { status: 413, errcode: 'M_TOO_LARGE' }, { json: { body: 'x'.repeat(66_000) } });
    await client.fails('GET', '/sync', { status: 401, errcode: 'M_MISSING_TOKEN' });
    await client.fails('GET', '/account/whoami', { status: 401, errcode: 'M_UNKNOWN_TOKEN' }, { token: 'not-a-token' });
    await client.fails('GET', '/no/such/endpoint', { status: 404, errcode: 'M_UNRECOGNIZED' });
    await client.fails('DELETE', '/login', { status: 405, errcode: 'M_UNRECOGNIZED' });
  });

  it('refuses non-members with M_FORBIDDEN', async () => {
    await carol.fails('PUT', room(hall, '/send/m.room.message/x'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { msgtype: 'm.text', body: 'hi' } });
    await carol.fails('GET', room(hall, '/messages'), { status: 403, errcode: 'M_FORBIDDEN' }, { query: { dir: 'b' } });
    await carol.fails('GET', room(hall, '/state'), { status: 403, errcode: 'M_FORBIDDEN' });
    await carol.fails('POST', room(hall, '/join'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: {} });
    await carol.fails('POST', room(hall, '/invite'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { user_id: carol.userId } });
  });

  it('rate-limits messages with 429 M_LIMIT_EXCEEDED and retry_after_ms when a limit is configured', async () => {
    const limited = await startTestServer({ mode, file: { rate_limits: { messages: { per_second: 0.05, burst: 2 } } } });
    try {
      const limitedClient = new MatrixClient(limited.url);
      const erin = limitedClient.as(await limitedClient.register('erin'));
      const roomId = await erin.createRoom();
      await erin.send(roomId, 'one');
      await erin.send(roomId, 'two');
      const refused = await erin.fails('PUT', room(roomId, '/send/m.room.message/three'), { status: 429, errcode: 'M_LIMIT_EXCEEDED' },
        { json: { msgtype: 'm.text', body: 'three' } });
      expect(refused.retry_after_ms).toBeGreaterThan(0);
    } finally {
      await limited.stop();
    }
  });
});
