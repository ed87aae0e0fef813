// Simplified sliding sync (MSC4186) over raw HTTP against the whole server, both deployments: the
// unstable form clients send today (pos/timeout in the query) and the merged /v4/sync form.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer } from '../../../test/harness/index.ts';
import { syncTestClient, V3, type SyncSession, type SyncTestClient } from '../../../test/harness/index.ts';

const UNSTABLE = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';
const V4 = '/_matrix/client/v4/sync';

describe.each<ServerMode>(['embedded', 'distributed'])('sliding sync (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let ok: SyncTestClient['ok'];
  let register: SyncTestClient['register'];

  /** The unstable form: pos, timeout in the query. */
  const slide = async (who: SyncSession, body: Body, query: Record<string, string | number> = {}): Promise<Body> =>
    client.ok('POST', UNSTABLE, { token: who.token, json: body, query });
  const slideV4 = async (who: SyncSession, body: Body): Promise<Body> => client.ok('POST', V4, { token: who.token, json: body });
  const send = async (who: SyncSession, roomId: string, body: string): Promise<string> =>
    (await ok('PUT', `${V3}/rooms/${e(roomId)}/send/m.room.message/${Math.random()}`, who.token, { msgtype: 'm.text', body })).event_id as string;
  const createRoom = async (who: SyncSession, body: Body = {}): Promise<string> =>
    (await ok('POST', `${V3}/createRoom`, who.token, body)).room_id as string;
  const bodies = (events: Body[] | undefined): string[] =>
    (events ?? []).filter((event) => event.type === 'm.room.message').map((event) => event.content.body as string);
  const list = (range: [number, number], extra: Body = {}): Body => ({
    ranges: [range], timeline_limit: 3, required_state: [['m.room.create', ''], ['m.room.name', '']], ...extra,
  });

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    ({ ok, register } = syncTestClient(client));
  });
  afterAll(() => server?.stop());

  it('ranks rooms by recency, cuts ranges, and answers only what changed since pos', async () => {
    const alice = await register('ranker');
    const bob = await register('ranker-bob');
    const rooms: string[] = [];
    for (const name of ['zero', 'one', 'two', 'three']) {
      const roomId = await createRoom(alice, { name, preset: 'public_chat' });
      await send(alice, roomId, `hello ${name}`);
      rooms.push(roomId);
    }
    // The oldest room; the others are one, two and three.
    const zero = rooms.shift()!;
    await ok('POST', `${V3}/join/${e(rooms[0]!)}`, bob.token, {});
    const first = await slide(alice, { lists: { all: list([0, 1]) } });
    expect(first.lists.all.count).toBe(4);
    // Newest activity first: three, two (one is outside the range).
    expect(first.lists.all.ops).toEqual([{ op: 'SYNC', range: [0, 1], room_ids: [rooms[2], rooms[1]] }]);
    expect(Object.keys(first.rooms).sort()).toEqual([rooms[1], rooms[2]].sort());
    const three = first.rooms[rooms[2]!];
    expect(three).toMatchObject({ initial: true, name: 'three', joined_count: 1, invited_count: 0, notification_count: 0, highlight_count: 0, num_live: 0 });
    expect(typeof three.bump_stamp).toBe('number');
    expect(bodies(three.timeline)).toEqual(['hello three']);
    expect(three.limited).toBe(true);
    expect(three.required_state.map((event: Body) => event.type).sort()).toEqual(['m.room.create', 'm.room.name']);
    expect(three.required_state.every((event: Body) => event.room_id === undefined && typeof event.event_id === 'string')).toBe(true);
    // prev_batch pages /messages backwards from the timeline's start.
    const older = await ok('GET', `${V3}/rooms/${e(rooms[2]!)}/messages?dir=b&limit=50&from=${e(three.prev_batch)}`, alice.token);
    expect(older.chunk.some((event: Body) => event.type === 'm.room.create')).toBe(true);
    expect(older.chunk.some((event: Body) => event.content?.body === 'hello three')).toBe(false);

    // A message in room one moves it to the top: it alone is sent, as new to the connection.
    await send(bob, rooms[0]!, 'bump');
    const second = await slide(alice, { lists: { all: list([0, 1]) } }, { pos: first.pos });
    expect(second.lists.all.ops[0].room_ids).toEqual([rooms[0], rooms[2]]);
    expect(Object.keys(second.rooms)).toEqual([rooms[0]]);
    expect(second.rooms[rooms[0]!]).toMatchObject({ initial: true, name: 'one', joined_count: 2, num_live: 1, notification_count: 1 });
    expect(bodies(second.rooms[rooms[0]!].timeline)).toEqual(['hello one', 'bump']);

    // Incrementally, a known room gets only its new events, without `initial` or its unchanged name.
    await send(bob, rooms[0]!, 'again');
    const third = await slide(alice, { lists: { all: list([0, 1]) } }, { pos: second.pos });
    expect(Object.keys(third.rooms)).toEqual([rooms[0]]);
    const again = third.rooms[rooms[0]!];
    expect(bodies(again.timeline)).toEqual(['again']);
    expect([again.initial, again.name, again.limited, again.num_live, again.notification_count]).toEqual([undefined, undefined, false, 1, 2]);
    expect(again.required_state).toBeUndefined();

    // Growing the range sends the rooms it adds, not those sent already.
    const grown = await slide(alice, { lists: { all: list([0, 3]) } }, { pos: third.pos });
    expect(Object.keys(grown.rooms)).toEqual([zero]);
    expect(grown.lists.all.ops[0].room_ids).toEqual([rooms[0], rooms[2], rooms[1], zero]);
    // The same pos may be retried (the client cancelled): the same answer is computed from it.
    const retried = await slide(alice, { lists: { all: list([0, 3]) } }, { pos: third.pos });
    expect(Object.keys(retried.rooms)).toEqual([zero]);

    // A new room comes in at the top, pushing the last one out of the window.
    const fresh = await createRoom(alice, { name: 'fresh' });
    const fourth = await slide(alice, { lists: { all: list([0, 3]) } }, { pos: retried.pos });
    expect(fourth.lists.all.count).toBe(5);
    expect(fourth.lists.all.ops[0].room_ids).toEqual([fresh, rooms[0], rooms[2], rooms[1]]);
    expect(Object.keys(fourth.rooms)).toEqual([fresh]);
    expect(fourth.rooms[fresh]).toMatchObject({ initial: true, name: 'fresh' });
    expect(fourth.rooms[fresh].bump_stamp).toBeGreaterThanOrEqual(again.bump_stamp);
  });

  it('long-polls on the notifier: wakes for a new event, and answers the same pos after the timeout', async () => {
    const alice = await register('poller');
    const roomId = await createRoom(alice, { name: 'poll' });
    const body = { lists: { all: list([0, 9]) } };
    const first = await slide(alice, body);
    const started = Date.now();
    const idle = await slide(alice, body, { pos: first.pos, timeout: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(idle.pos).toBe(first.pos);
    expect(idle.rooms).toEqual({});
    expect(idle.lists.all.count).toBe(1);
    const waiting = slide(alice, body, { pos: first.pos, timeout: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await send(alice, roomId, 'wake');
    const woken = await waiting;
    expect(bodies(woken.rooms[roomId].timeline)).toEqual(['wake']);
    expect(woken.pos).not.toBe(first.pos);
  });

  it('answers M_UNKNOWN_POS for a position it never gave, and keeps connections apart by conn_id', async () => {
    const alice = await register('positions');
    const roomId = await createRoom(alice, { name: 'conns' });
    for (const pos of ['nope', '0_1', 'x'.repeat(200)]) {
      await client.fails('POST', UNSTABLE, { status: 400, errcode: 'M_UNKNOWN_POS' }, { token: alice.token, json: {}, query: { pos } });
    }
    const a = await slide(alice, { conn_id: 'room-list', lists: { all: list([0, 0]) } });
    const b = await slide(alice, { conn_id: 'encryption', lists: { all: list([0, 0]) } });
    expect(Object.keys(a.rooms)).toEqual([roomId]);
    expect(Object.keys(b.rooms)).toEqual([roomId]);
    // A pos belongs to its connection.
    await client.fails('POST', UNSTABLE, { status: 400, errcode: 'M_UNKNOWN_POS' },
      { token: alice.token, json: { conn_id: 'encryption' }, query: { pos: a.pos } });
    await send(alice, roomId, 'both');
    const nextA = await slide(alice, { conn_id: 'room-list', lists: { all: list([0, 0]) } }, { pos: a.pos });
    expect(bodies(nextA.rooms[roomId].timeline)).toEqual(['both']);
    // Starting a connection over forgets its positions.
    await slide(alice, { conn_id: 'room-list', lists: { all: list([0, 0]) } });
    await client.fails('POST', UNSTABLE, { status: 400, errcode: 'M_UNKNOWN_POS' },
      { token: alice.token, json: { conn_id: 'room-list' }, query: { pos: nextA.pos } });
    // Another device never resumes this one's connection.
    const other = await client.login('positions');
    await client.fails('POST', UNSTABLE, { status: 400, errcode: 'M_UNKNOWN_POS' },
      { token: other.accessToken, json: { conn_id: 'encryption' }, query: { pos: b.pos } });
    // A device logged out takes its connections along: its id logged in again starts afresh.
    const phone = await client.login('positions', { deviceId: 'PHONE' });
    const onPhone = await client.ok('POST', UNSTABLE, { token: phone.accessToken, json: {} });
    await client.ok('POST', '/logout', { token: phone.accessToken, json: {} });
    const again = await client.login('positions', { deviceId: 'PHONE' });
    await client.fails('POST', UNSTABLE, { status: 400, errcode: 'M_UNKNOWN_POS' }, { token: again.accessToken, json: {}, query: { pos: onPhone.pos } });
  });

  it('shows invites with their stripped state, the room joined after, and a room left since pos once', async () => {
    const alice = await register('inviter');
    const bob = await register('invitee');
    const roomId = await createRoom(alice, { name: 'Invited', preset: 'private_chat' });
    await ok('POST', `${V3}/rooms/${e(roomId)}/invite`, alice.token, { user_id: bob.userId });
    const lists = { invites: list([0, 9], { filters: { is_invite: true } }), joined: list([0, 9], { filters: { is_invite: false } }) };
    const first = await slide(bob, { lists });
    expect([first.lists.invites.count, first.lists.joined.count]).toEqual([1, 0]);
    const invite = first.rooms[roomId];
    expect(invite.initial).toBe(true);
    expect(invite.invite_state.find((event: Body) => event.type === 'm.room.name')?.content).toEqual({ name: 'Invited' });
    expect(invite.invite_state.find((event: Body) => event.type === 'm.room.member' && event.state_key === bob.userId)?.content.membership)
      .toBe('invite');
    expect(invite.timeline).toBeUndefined();
    // The invite is sent once.
    const quiet = await slide(bob, { lists }, { pos: first.pos });
    expect(quiet.rooms).toEqual({});

    await ok('POST', `${V3}/join/${e(roomId)}`, bob.token, {});
    const joined = await slide(bob, { lists }, { pos: quiet.pos });
    expect([joined.lists.invites.count, joined.lists.joined.count]).toEqual([0, 1]);
    expect(joined.rooms[roomId]).toMatchObject({ initial: true, name: 'Invited', joined_count: 2 });
    expect(joined.rooms[roomId].invite_state).toBeUndefined();

    await ok('POST', `${V3}/rooms/${e(roomId)}/leave`, bob.token, {});
    const left = await slide(bob, { lists }, { pos: joined.pos });
    const leave = left.rooms[roomId].timeline.at(-1);
    expect([leave.type, leave.state_key, leave.content.membership]).toEqual(['m.room.member', bob.userId, 'leave']);
    // After that the room is out of the list: the user knows they left.
    await send(alice, roomId, 'after the leave');
    const after = await slide(bob, { lists }, { pos: left.pos });
    expect([after.lists.joined.count, after.rooms]).toEqual([0, {}]);
    // A new connection does not list it either; a kicked user's room stays listed.
    expect((await slide(bob, { lists })).lists.joined.count).toBe(0);
    const carol = await register('kicked');
    await ok('POST', `${V3}/rooms/${e(roomId)}/invite`, alice.token, { user_id: carol.userId });
    await ok('POST', `${V3}/join/${e(roomId)}`, carol.token, {});
    await ok('POST', `${V3}/rooms/${e(roomId)}/kick`, alice.token, { user_id: carol.userId, reason: 'out' });
    const kicked = await slide(carol, { lists });
    expect(kicked.lists.joined.count).toBe(1);
    const kick = kicked.rooms[roomId].timeline.at(-1);
    expect([kick.sender, kick.content.membership]).toEqual([alice.userId, 'leave']);
    expect(bodies(kicked.rooms[roomId].timeline)).not.toContain('after the leave');
  });

  it('shows a knock with the stripped state of the knocked room, once', async () => {
    const alice = await register('knock-owner');
    const bob = await register('knocker');
    const roomId = await createRoom(alice, {
      name: 'Door', room_version: '10', initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }],
    });
    await ok('POST', `${V3}/knock/${e(roomId)}`, bob.token, { reason: 'let me in' });
    const unstable = await slide(bob, { lists: { all: list([0, 9]) } });
    const own = (events: Body[]): Body | undefined => events.find((event) => event.type === 'm.room.member' && event.state_key === bob.userId);
    expect(own(unstable.rooms[roomId].invite_state)?.content.membership).toBe('knock');
    expect(unstable.rooms[roomId].invite_state.some((event: Body) => event.type === 'm.room.name')).toBe(true);
    const v4 = await slideV4(bob, { conn_id: 'v4', lists: { all: { range: [0, 9], timeline_limit: 1, required_state: {} } } });
    expect(v4.rooms[roomId].membership).toBe('knock');
    expect(own(v4.rooms[roomId].stripped_state)?.content.membership).toBe('knock');
    expect((await slide(bob, { lists: { all: list([0, 9]) } }, { pos: unstable.pos })).rooms).toEqual({});
  });

  it('serves room subscriptions for rooms the user may see, ignoring others', async () => {
    const alice = await register('subscriber');
    const bob = await register('stranger');
    const mine = await createRoom(alice, { name: 'Mine' });
    await createRoom(alice, { name: 'Newer' });
    const theirs = await createRoom(bob, { name: 'Theirs' });
    const answer = await slide(alice, {
      lists: { top: list([0, 0]) },
      room_subscriptions: {
        [mine]: { timeline_limit: 1, required_state: [['*', '*']] },
        [theirs]: { timeline_limit: 1, required_state: [['*', '*']] },
        '!unknown:localhost': { timeline_limit: 1, required_state: [] },
      },
    });
    expect(Object.keys(answer.rooms).length).toBe(2);
    expect(answer.rooms[theirs]).toBeUndefined();
    expect(answer.rooms[mine].name).toBe('Mine');
    // `*` `*`: the whole state.
    expect(answer.rooms[mine].required_state.map((event: Body) => event.type)).toEqual(
      expect.arrayContaining(['m.room.create', 'm.room.member', 'm.room.power_levels', 'm.room.name', 'm.room.join_rules']));
    // A room left long ago is out of the lists, but a subscription shows it up to the leave.
    const gone = await createRoom(alice, { name: 'Gone' });
    await send(alice, gone, 'last words');
    await ok('POST', `${V3}/rooms/${e(gone)}/leave`, alice.token, {});
    const lists = { all: list([0, 9]) };
    expect((await slide(alice, { lists })).rooms[gone]).toBeUndefined();
    const subscribed = await slide(alice, { lists, room_subscriptions: { [gone]: { timeline_limit: 2, required_state: [['m.room.name', '']] } } });
    expect(subscribed.rooms[gone].name).toBe('Gone');
    expect(subscribed.rooms[gone].timeline.map((event: Body) => event.content.body ?? event.content.membership)).toEqual(['last words', 'leave']);
  });

  it('filters lists on DMs, encryption, room types, spaces and tags', async () => {
    const alice = await register('filterer');
    const bob = await register('filter-friend');
    const dm = await createRoom(alice, { is_direct: true, invite: [bob.userId], preset: 'trusted_private_chat' });
    await ok('PUT', `${V3}/user/${e(alice.userId)}/account_data/m.direct`, alice.token, { [bob.userId]: [dm] });
    const encrypted = await createRoom(alice, {
      name: 'Secret', initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    const space = await createRoom(alice, { name: 'Space', creation_content: { type: 'm.space' } });
    const child = await createRoom(alice, { name: 'Child' });
    await ok('PUT', `${V3}/rooms/${e(space)}/state/m.space.child/${e(child)}`, alice.token, { via: ['localhost'] });
    await ok('PUT', `${V3}/user/${e(alice.userId)}/rooms/${e(child)}/tags/m.favourite`, alice.token, { order: 0.5 });
    const ids = (answer: Body, name: string): string[] => answer.lists[name].ops[0]?.room_ids ?? [];
    const lists = {
      dms: list([0, 9], { filters: { is_dm: true } }),
      encrypted: list([0, 9], { filters: { is_encrypted: true } }),
      spaces: list([0, 9], { filters: { room_types: ['m.space'] } }),
      rooms: list([0, 9], { filters: { not_room_types: ['m.space'], is_dm: false } }),
      children: list([0, 9], { filters: { spaces: [space] } }),
      favourites: list([0, 9], { filters: { tags: ['m.favourite'] } }),
      notFavourites: list([0, 9], { filters: { not_tags: ['m.favourite'], room_types: [null] } }),
    };
    const answer = await slide(alice, { lists });
    expect(ids(answer, 'dms')).toEqual([dm]);
    expect(answer.rooms[dm].is_dm).toBe(true);
    expect(ids(answer, 'encrypted')).toEqual([encrypted]);
    expect(ids(answer, 'spaces')).toEqual([space]);
    expect(ids(answer, 'rooms')).toEqual([child, encrypted]);
    expect(ids(answer, 'children')).toEqual([child]);
    expect(ids(answer, 'favourites')).toEqual([child]);
    expect(ids(answer, 'notFavourites').sort()).toEqual([dm, encrypted].sort());
    // A DM room without a name gets heroes with their profile (spec room-summary rules).
    expect(answer.rooms[dm].heroes).toEqual([{ user_id: bob.userId, displayname: 'filter-friend' }]);
    expect(answer.rooms[dm].name).toBeUndefined();
    expect(answer.rooms[dm].invited_count).toBe(1);
  });

  it('reads no rooms for a connection without lists, and reads the DM marks once lists come', async () => {
    const alice = await register('extensions-only');
    const bob = await register('extensions-only-bob');
    const dm = await createRoom(alice, { is_direct: true, invite: [bob.userId] });
    const first = await slide(alice, { conn_id: 'encryption' });
    expect([first.lists, first.rooms]).toEqual([undefined, {}]);
    await ok('PUT', `${V3}/user/${e(alice.userId)}/account_data/m.direct`, alice.token, { [bob.userId]: [dm] });
    const quiet = await slide(alice, { conn_id: 'encryption' }, { pos: first.pos });
    expect(quiet.rooms).toEqual({});
    const withLists = await slide(alice, { conn_id: 'encryption', lists: { dms: list([0, 9], { filters: { is_dm: true } }) } }, { pos: quiet.pos });
    expect(withLists.lists.dms.ops[0].room_ids).toEqual([dm]);
    expect(withLists.rooms[dm].is_dm).toBe(true);
  });

  it('loads members lazily for the timeline ($LAZY), the user by $ME, and sends state changes after the first send', async () => {
    const alice = await register('lazy');
    const bob = await register('lazy-bob');
    const carol = await register('lazy-carol');
    const roomId = await createRoom(alice, { name: 'Lazy', preset: 'public_chat' });
    for (const who of [bob, carol]) await ok('POST', `${V3}/join/${e(roomId)}`, who.token, {});
    await send(bob, roomId, 'from bob');
    const config = {
      ranges: [[0, 0]], timeline_limit: 1,
      required_state: [['m.room.member', '$LAZY'], ['m.room.member', '$ME'], ['m.room.topic', '']],
    };
    const first = await slide(alice, { lists: { all: config } });
    const members = (answer: Body): string[] =>
      (answer.rooms[roomId].required_state ?? []).filter((event: Body) => event.type === 'm.room.member').map((event: Body) => event.state_key).sort();
    expect(members(first)).toEqual([alice.userId, bob.userId].sort());
    await send(carol, roomId, 'from carol');
    await send(bob, roomId, 'bob again');
    await ok('PUT', `${V3}/rooms/${e(roomId)}/state/m.room.topic/`, alice.token, { topic: 'new topic' });
    const second = await slide(alice, { lists: { all: { ...config, timeline_limit: 5 } } }, { pos: first.pos });
    // Only carol is new to the client; the topic change is a state change it asked for.
    expect(members(second)).toEqual([carol.userId]);
    expect(second.rooms[roomId].required_state.find((event: Body) => event.type === 'm.room.topic').content).toEqual({ topic: 'new topic' });
    // The larger timeline_limit reaches back past what was sent: the timeline is expanded.
    expect(second.rooms[roomId].unstable_expanded_timeline).toBe(true);
    expect(bodies(second.rooms[roomId].timeline)).toEqual(['from bob', 'from carol', 'bob again']);
  });

  it('serves the merged /v4/sync form: body pos and timeout, range, include/exclude, renamed fields', async () => {
    const alice = await register('vfour');
    const bob = await register('vfour-bob');
    const roomId = await createRoom(alice, { name: 'Four', preset: 'public_chat' });
    await ok('POST', `${V3}/join/${e(roomId)}`, bob.token, {});
    await send(bob, roomId, 'hi four');
    const invited = await createRoom(bob, { name: 'Invite four', invite: [alice.userId] });
    const lists = {
      all: {
        range: [0, 9], timeline_limit: 2,
        required_state: { include: [{}], exclude: [{ type: 'm.room.member' }], lazy_members: true },
        filters: { is_invited: false },
      },
      invites: { range: [0, 9], timeline_limit: 0, required_state: {}, filters: { is_invited: true } },
    };
    const first = await slideV4(alice, { conn_id: 'main', lists });
    expect(first.lists).toEqual({ all: { count: 1 }, invites: { count: 1 } });
    const room = first.rooms[roomId];
    expect(room).toMatchObject({ membership: 'join', lists: ['all'], initial: true, name: 'Four', joined_count: 2, num_live: 0 });
    expect(bodies(room.timeline_events)).toEqual(['hi four']);
    expect(room.timeline).toBeUndefined();
    // Members are excluded, but lazy members are not filtered by `exclude` (MSC4186).
    const types = room.required_state.map((event: Body) => event.type);
    expect(types).toContain('m.room.create');
    expect(room.required_state.filter((event: Body) => event.type === 'm.room.member').map((event: Body) => event.state_key)).toEqual([bob.userId]);
    expect(first.rooms[invited]).toMatchObject({ membership: 'invite', lists: ['invites'], initial: true });
    expect(first.rooms[invited].stripped_state.some((event: Body) => event.type === 'm.room.name')).toBe(true);

    // pos and timeout in the body: an idle connection answers the same pos after the timeout.
    const idle = await slideV4(alice, { conn_id: 'main', pos: first.pos, timeout: 200, lists });
    expect([idle.pos, idle.rooms]).toEqual([first.pos, {}]);
    // A removed name is `null`.
    await ok('PUT', `${V3}/rooms/${e(roomId)}/state/m.room.name/`, alice.token, {});
    const renamed = await slideV4(alice, { conn_id: 'main', pos: first.pos, lists });
    expect(renamed.rooms[roomId].name).toBeNull();
    await client.fails('POST', V4, { status: 400, errcode: 'M_UNKNOWN_POS' }, { token: alice.token, json: { conn_id: 'other', pos: first.pos } });
  });

  it('refuses malformed and out-of-bound requests with Matrix errors', async () => {
    const alice = await register('bounds');
    const bad = async (path: string, json: unknown, errcode: string, query: Record<string, string> = {}): Promise<void> => {
      await client.fails('POST', path, { status: 400, errcode }, { token: alice.token, json, query });
    };
    const config = { timeline_limit: 1, required_state: [] };
    await client.fails('POST', UNSTABLE, { status: 401, errcode: 'M_MISSING_TOKEN' }, { json: {} });
    await client.fails('POST', UNSTABLE, { status: 400, errcode: 'M_NOT_JSON' }, { token: alice.token, raw: '{' });
    await client.fails('POST', UNSTABLE, { status: 413, errcode: 'M_TOO_LARGE' }, { token: alice.token, raw: JSON.stringify({ conn_id: 'x'.repeat(600 * 1024) }) });
    await bad(UNSTABLE, [], 'M_BAD_JSON');
    await bad(UNSTABLE, { lists: [] }, 'M_BAD_JSON');
    await bad(UNSTABLE, { lists: { a: { required_state: [] } } }, 'M_BAD_JSON');
    await bad(UNSTABLE, { lists: { a: { ...config, timeline_limit: -1 } } }, 'M_INVALID_PARAM');
    await bad(UNSTABLE, { lists: { a: { ...config, timeline_limit: 1.5 } } }, 'M_BAD_JSON');
    await bad(UNSTABLE, { lists: { a: { ...config, ranges: [[5, 1]] } } }, 'M_INVALID_PARAM');
    await bad(UNSTABLE, { lists: { a: { ...config, ranges: [[0, 2 ** 31]] } } }, 'M_INVALID_PARAM');
    await bad(UNSTABLE, { lists: { a: { ...config, ranges: [[0]] } } }, 'M_BAD_JSON');
    await bad(UNSTABLE, { lists: { a: { ...config, ranges: Array.from({ length: 101 }, () => [0, 1]) } } }, 'M_INVALID_PARAM');
    await bad(UNSTABLE, { lists: { a: { ...config, required_state: [['m.room.name']] } } }, 'M_BAD_JSON');
    await bad(UNSTABLE, { lists: { a: { ...config, required_state: Array.from({ length: 101 }, () => ['a', '']) } } }, 'M_INVALID_PARAM');
    await bad(UNSTABLE, { lists: { a: { ...config, required_state: [['x'.repeat(256), '']] } } }, 'M_INVALID_PARAM');
    await bad(UNSTABLE, { lists: { a: { ...config, filters: { is_dm: 'yes' } } } }, 'M_BAD_JSON');
    await bad(UNSTABLE, { lists: { a: { ...config, filters: { spaces: ['not a room'] } } } }, 'M_INVALID_PARAM');
    await bad(UNSTABLE, { lists: { a: { ...config, filters: { tags: Array.from({ length: 101 }, () => 't') } } } }, 'M_INVALID_PARAM');
    await bad(UNSTABLE, { lists: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`l${i}`, config])) }, 'M_INVALID_PARAM');
    await bad(UNSTABLE, { lists: { ['n'.repeat(65)]: config } }, 'M_INVALID_PARAM');
    await bad(UNSTABLE, { room_subscriptions: { 'not-a-room': config } }, 'M_INVALID_PARAM');
    await bad(UNSTABLE, { room_subscriptions: Object.fromEntries(Array.from({ length: 501 }, (_, i) => [`!r${i}:localhost`, config])) },
      'M_INVALID_PARAM');
    await bad(UNSTABLE, { conn_id: 'c'.repeat(256) }, 'M_INVALID_PARAM');
    await bad(UNSTABLE, { conn_id: 7 }, 'M_BAD_JSON');
    await bad(UNSTABLE, { extensions: { to_device: true } }, 'M_BAD_JSON');
    await bad(UNSTABLE, {}, 'M_INVALID_PARAM', { timeout: '-5' });
    await bad(UNSTABLE, {}, 'M_INVALID_PARAM', { set_presence: 'dancing' });
    await bad(V4, { timeout: 'soon' }, 'M_BAD_JSON');
    await bad(V4, { lists: { a: { timeline_limit: 1, required_state: [] } } }, 'M_BAD_JSON');
    await bad(V4, { lists: { a: { timeline_limit: 1, required_state: { include: [{ type: 5 }] } } } }, 'M_BAD_JSON');
    await bad(V4, { lists: { a: { timeline_limit: 1, required_state: {}, range: [3, 2] } } }, 'M_INVALID_PARAM');
    await bad(V4, { pos: 5 }, 'M_BAD_JSON');
    // A large timeline_limit is served capped, not refused; an empty body is an empty request.
    expect((await slide(alice, { lists: { a: { ...config, timeline_limit: 100_000, ranges: [[0, 10]] } } })).lists.a.count).toBe(0);
    expect(typeof (await client.ok('POST', UNSTABLE, { token: alice.token })).pos).toBe('string');
    // Names that are Object.prototype's are ordinary list names.
    const odd = await client.ok('POST', UNSTABLE, {
      token: alice.token, raw: '{"lists":{"__proto__":{"timeline_limit":1,"required_state":[]},"constructor":{"timeline_limit":1,"required_state":[]}}}',
    });
    expect(Object.keys(odd.lists).sort()).toEqual(['__proto__', 'constructor']);
  });
});
