// The room read endpoints, parameter by parameter, as the spec (v1.19) defines them: /messages,
// /context, /members, /joined_members, /state, /publicRooms, /joined_rooms and the directory.
// Where the spec is silent the expectation is Synapse's behaviour (named in the test).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

const ids = (events: Body[]): string[] => events.map((event) => event.event_id as string);
const memberKeys = (events: Body[]): string[] => events.filter((event) => event.type === 'm.room.member').map((event) => event.state_key as string).sort();

describe.each<ServerMode>(['embedded', 'distributed'])('room read endpoints (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  /** alice's room that bob joins, with 12 messages alternating alice/bob. */
  let hall: string;
  let messages: string[];
  const room = (roomId: string, rest = ''): string => `/rooms/${e(roomId)}${rest}`;

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => client.as(await client.register(name))));
    hall = await alice.createRoom({ preset: 'public_chat', name: 'Hall' });
    await bob.post(`/join/${e(hall)}`);
    messages = [];
    for (let i = 0; i < 12; i++) messages.push(await (i % 2 === 0 ? alice : bob).send(hall, `m${i}`));
  }, 120_000);
  afterAll(() => server?.stop());

  describe('GET /rooms/{roomId}/messages', () => {
    it('without from pages back from the end (dir=b) or forward from the start (dir=f), 10 events by default', async () => {
      const back = await bob.get(room(hall, '/messages'), { dir: 'b' });
      expect(ids(back.chunk)).toEqual(messages.slice(2).reverse());
      expect(back.end).toEqual(expect.any(String));
      const forward = await bob.get(room(hall, '/messages'), { dir: 'f' });
      expect(forward.chunk).toHaveLength(10);
      expect(forward.chunk[0]).toMatchObject({ type: 'm.room.create', state_key: '' });
    });

    it('continues from end, omits end once no more events are available, and stops at to', async () => {
      const first = await bob.get(room(hall, '/messages'), { dir: 'b', limit: 3 });
      const rest = await bob.get(room(hall, '/messages'), { dir: 'b', from: first.end, limit: 1000 });
      expect(rest.start).toBe(first.end);
      expect(rest.end).toBeUndefined();
      expect(rest.chunk.at(-1)).toMatchObject({ type: 'm.room.create' });
      expect(ids(rest.chunk).slice(0, 9)).toEqual(messages.slice(0, 9).reverse());
      const bounded = await bob.get(room(hall, '/messages'), { dir: 'b', to: first.end, limit: 100 });
      expect(ids(bounded.chunk)).toEqual(ids(first.chunk));
      expect(bounded.end).toBeUndefined();
      const capped = await bob.get(room(hall, '/messages'), { dir: 'f', limit: 100_000 });
      expect(capped.chunk.length).toBe(rest.chunk.length + 3);
    });

    it('requires dir, refuses a dir other than b or f and a bad token', async () => {
      await bob.fails('GET', room(hall, '/messages'), { status: 400, errcode: 'M_MISSING_PARAM' });
      await bob.fails('GET', room(hall, '/messages'), { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { dir: 'x' } });
      await bob.fails('GET', room(hall, '/messages'), { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { dir: 'b', from: 'nonsense' } });
    });

    it('accepts a /sync next_batch as from and to', async () => {
      const sync = await bob.sync({ filter: JSON.stringify({ room: { timeline: { limit: 1 } } }) });
      const next = sync.next_batch as string;
      const back = await bob.get(room(hall, '/messages'), { dir: 'b', from: next, limit: 2 });
      expect(back.chunk).toHaveLength(2);
      expect(back.start).toBe(next);
      expect(back.chunk[0].event_id).toBe(sync.rooms.join[hall].timeline.events.at(-1).event_id);
      expect((await bob.get(room(hall, '/messages'), { dir: 'f', from: next })).chunk).toEqual([]);
      const first = (await bob.get(room(hall, '/messages'), { dir: 'b', limit: 3 })).end as string;
      const toNext = await bob.get(room(hall, '/messages'), { dir: 'f', from: first, to: next });
      expect(toNext.chunk).toHaveLength(3);
      await bob.fails('GET', room(hall, '/messages'), { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { dir: 'b', from: 's1.x_0_0_0_0_0_0' } });
    });

    it('with lazy_load_members, state carries the member events of the chunk senders only', async () => {
      const filter = JSON.stringify({ types: ['m.room.message'], lazy_load_members: true });
      const page = await bob.get(room(hall, '/messages'), { dir: 'b', limit: 4, filter });
      expect(page.chunk.every((event: Body) => event.type === 'm.room.message')).toBe(true);
      expect(memberKeys(page.state)).toEqual([alice.userId, bob.userId].sort());
      expect(page.state).toHaveLength(2);
      const onlyAlice = await bob.get(room(hall, '/messages'), { dir: 'b', limit: 4, filter: JSON.stringify({ senders: [alice.userId], lazy_load_members: true }) });
      expect(memberKeys(onlyAlice.state)).toEqual([alice.userId]);
      // Synapse: a filter whose rooms / not_rooms exclude this room leaves nothing.
      expect((await bob.get(room(hall, '/messages'), { dir: 'b', filter: JSON.stringify({ not_rooms: [hall] }) })).chunk).toEqual([]);
      expect((await bob.get(room(hall, '/messages'), { dir: 'b', filter: JSON.stringify({ rooms: ['!other:example.org'] }) })).chunk).toEqual([]);
      expect((await bob.get(room(hall, '/messages'), { dir: 'b', limit: 1, filter: JSON.stringify({ rooms: [hall] }) })).chunk).toHaveLength(1);
      // Without lazy loading Synapse leaves `state` out.
      expect((await bob.get(room(hall, '/messages'), { dir: 'b', limit: 4 })).state).toBeUndefined();
    });
  });

  describe('GET /rooms/{roomId}/context/{eventId}', () => {
    it('splits limit between before and after, and its start/end tokens continue with /messages', async () => {
      const target = messages[6]!;
      const context = await bob.get(room(hall, `/context/${e(target)}`), { limit: 4 });
      expect(context.event.event_id).toBe(target);
      expect(ids(context.events_before)).toEqual([messages[5], messages[4]]);
      expect(ids(context.events_after)).toEqual([messages[7], messages[8]]);
      expect(memberKeys(context.state)).toEqual([alice.userId, bob.userId].sort());
      expect(context.state.some((event: Body) => event.type === 'm.room.create')).toBe(true);
      const earlier = await bob.get(room(hall, '/messages'), { dir: 'b', from: context.start, limit: 2 });
      expect(ids(earlier.chunk)).toEqual([messages[3], messages[2]]);
      const later = await bob.get(room(hall, '/messages'), { dir: 'f', from: context.end, limit: 2 });
      expect(ids(later.chunk)).toEqual([messages[9], messages[10]]);
    });

    it('applies filter to the surrounding events and state, and lazy loads members', async () => {
      const filter = JSON.stringify({ senders: [bob.userId], lazy_load_members: true });
      const context = await bob.get(room(hall, `/context/${e(messages[6]!)}`), { limit: 2, filter });
      expect(ids(context.events_before)).toEqual([messages[5]]);
      expect(ids(context.events_after)).toEqual([messages[7]]);
      // "The filter is only applied to events_before, events_after, and state": of the state only
      // what bob sent remains, his own member event.
      expect(context.state.map((event: Body) => [event.type, event.state_key])).toEqual([['m.room.member', bob.userId]]);
      const messagesOnly = await bob.get(room(hall, `/context/${e(messages[6]!)}`), { limit: 2, filter: JSON.stringify({ types: ['m.room.mess*'] }) });
      expect(messagesOnly.state).toEqual([]);
      const aliceOnly = await bob.get(room(hall, `/context/${e(messages[6]!)}`), { limit: 0, filter: JSON.stringify({ lazy_load_members: true }) });
      expect(memberKeys(aliceOnly.state)).toEqual([alice.userId]);
      expect(aliceOnly.events_before).toEqual([]);
      expect(aliceOnly.state.some((event: Body) => event.type === 'm.room.name')).toBe(true);
    });
  });

  describe('GET /rooms/{roomId}/members and /joined_members', () => {
    it('answers the membership as of an at token from /messages or /sync prev_batch', async () => {
      const before = (await alice.get(room(hall, '/messages'), { dir: 'b', limit: 1 })).start as string;
      await alice.post(room(hall, '/invite'), { user_id: carol.userId });
      expect(memberKeys((await alice.get(room(hall, '/members'))).chunk)).toContain(carol.userId);
      expect(memberKeys((await alice.get(room(hall, '/members'), { at: before })).chunk)).toEqual([alice.userId, bob.userId].sort());
      const sync = await bob.sync({ filter: JSON.stringify({ room: { timeline: { limit: 1 } } }) });
      const prevBatch = sync.rooms.join[hall].timeline.prev_batch as string;
      expect(memberKeys((await bob.get(room(hall, '/members'), { at: prevBatch })).chunk)).not.toContain(carol.userId);
    });

    it('filters by membership and not_membership, the two together meaning "is membership or is not not_membership"', async () => {
      const keys = async (query: Record<string, string>): Promise<string[]> => memberKeys((await alice.get(room(hall, '/members'), query)).chunk);
      expect(await keys({ membership: 'invite' })).toEqual([carol.userId]);
      expect(await keys({ not_membership: 'invite' })).toEqual([alice.userId, bob.userId].sort());
      expect(await keys({ membership: 'join', not_membership: 'leave' })).toEqual([alice.userId, bob.userId, carol.userId].sort());
      expect(await keys({ membership: 'leave', not_membership: 'invite' })).toEqual([alice.userId, bob.userId].sort());
      await alice.fails('GET', room(hall, '/members'), { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { membership: 'joined' } });
    });

    it('lists joined members with display_name and avatar_url', async () => {
      await alice.put(`/profile/${e(alice.userId)}/avatar_url`, { avatar_url: 'mxc://example.org/alice' });
      const aliceMember = await alice.get(room(hall, `/state/m.room.member/${e(alice.userId)}`));
      const joined = (await alice.get(room(hall, '/joined_members'))).joined as Body;
      expect(Object.keys(joined).sort()).toEqual([alice.userId, bob.userId].sort());
      expect(joined[alice.userId]).toEqual({ display_name: aliceMember.displayname, avatar_url: 'mxc://example.org/alice' });
      expect(await alice.get('/joined_rooms')).toEqual({ joined_rooms: [hall] });
    });
  });

  describe('GET /rooms/{roomId}/state', () => {
    it('answers content by default and the whole event with format=event (v1.16)', async () => {
      expect(await bob.get(room(hall, '/state/m.room.name/'))).toEqual({ name: 'Hall' });
      expect(await bob.get(room(hall, '/state/m.room.name'))).toEqual({ name: 'Hall' });
      const event = await bob.get(room(hall, '/state/m.room.name/'), { format: 'event' });
      expect(event).toMatchObject({ type: 'm.room.name', state_key: '', sender: alice.userId, room_id: hall, content: { name: 'Hall' } });
      expect(event.event_id).toEqual(expect.any(String));
      await bob.fails('GET', room(hall, '/state/m.room.name/'), { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { format: 'pdu' } });
      const state = await bob.get(room(hall, '/state')) as unknown as Body[];
      expect(state.some((e2) => e2.type === 'm.room.name' && e2.content.name === 'Hall')).toBe(true);
    });
  });

  describe('the public room directory', () => {
    let lounge: string;
    let space: string;
    beforeAll(async () => {
      lounge = await carol.createRoom({
        preset: 'public_chat', visibility: 'public', name: 'Lounge', topic: 'armchairs and tea', room_alias_name: 'lounge',
        initial_state: [{ type: 'm.room.guest_access', state_key: '', content: { guest_access: 'can_join' } },
          { type: 'm.room.avatar', state_key: '', content: { url: 'mxc://example.org/lounge' } },
          { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }],
      });
      space = await carol.createRoom({ preset: 'public_chat', visibility: 'public', name: 'Orbit', creation_content: { type: 'm.space' } });
      await carol.createRoom({ preset: 'private_chat', name: 'Hidden' });
    });

    it('lists published rooms with every chunk field', async () => {
      const list = await client.ok('GET', '/publicRooms');
      expect(list.total_room_count_estimate).toBe(2);
      expect(list.next_batch).toBeUndefined();
      const chunk = (list.chunk as Body[]).find((entry) => entry.room_id === lounge);
      expect(chunk).toEqual({
        room_id: lounge, name: 'Lounge', topic: 'armchairs and tea', canonical_alias: `#lounge:${server.serverName}`,
        avatar_url: 'mxc://example.org/lounge', num_joined_members: 1, world_readable: true, guest_can_join: true, join_rule: 'public',
      });
      expect((list.chunk as Body[]).find((entry) => entry.room_id === space)).toMatchObject({ room_type: 'm.space', name: 'Orbit' });
    });

    it('pages with limit, next_batch and prev_batch', async () => {
      const first = await carol.post('/publicRooms', { limit: 1 });
      expect(first.chunk).toHaveLength(1);
      expect(first.prev_batch).toBeUndefined();
      const second = await client.ok('GET', '/publicRooms', { query: { limit: 1, since: first.next_batch } });
      expect(second.chunk).toHaveLength(1);
      expect(second.next_batch).toBeUndefined();
      expect([first.chunk[0].room_id, second.chunk[0].room_id].sort()).toEqual([lounge, space].sort());
      const back = await carol.post('/publicRooms', { limit: 1, since: second.prev_batch });
      expect(back.chunk).toEqual(first.chunk);
      // Synapse: limit 0 means no limit (up to its cap of 100).
      const all = await client.ok('GET', '/publicRooms', { query: { limit: 0 } });
      expect(all.chunk).toHaveLength(2);
      expect(all.next_batch).toBeUndefined();
    });

    it('searches name, topic, alias and room id with generic_search_term, and filters room_types', async () => {
      const found = async (filter: Body): Promise<string[]> =>
        ((await carol.post('/publicRooms', { filter })).chunk as Body[]).map((entry) => entry.room_id as string);
      expect(await found({ generic_search_term: 'lOUNGE' })).toEqual([lounge]);
      expect(await found({ generic_search_term: 'tea' })).toEqual([lounge]);
      expect(await found({ generic_search_term: `#lounge:${server.serverName}` })).toEqual([lounge]);
      expect(await found({ generic_search_term: space })).toEqual([space]);
      expect(await found({ generic_search_term: 'nothing like this' })).toEqual([]);
      expect(await found({ room_types: [null] })).toEqual([lounge]);
      expect(await found({ room_types: ['m.space'] })).toEqual([space]);
      expect((await found({ room_types: [null, 'm.space'] })).sort()).toEqual([lounge, space].sort());
      expect((await carol.post('/publicRooms', { filter: { room_types: ['m.space'] } })).total_room_count_estimate).toBe(1);
      await carol.fails('POST', '/publicRooms', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { filter: { room_types: 'm.space' } } });
    });

    it('handles networks and the server parameter as Synapse does', async () => {
      await carol.fails('POST', '/publicRooms', { status: 400, errcode: 'M_INVALID_PARAM' },
        { json: { include_all_networks: true, third_party_instance_id: 'irc' } });
      expect((await carol.post('/publicRooms', { include_all_networks: true })).chunk).toHaveLength(2);
      expect((await carol.post('/publicRooms', { third_party_instance_id: 'irc|libera' })).chunk).toEqual([]);
      expect((await client.ok('GET', '/publicRooms', { query: { server: server.serverName } })).chunk).toHaveLength(2);
      await client.fails('GET', '/publicRooms', { status: 502, errcode: 'M_UNKNOWN' }, { query: { server: 'elsewhere.example' } });
    });

    it('resolves aliases with servers and answers directory visibility', async () => {
      expect(await client.ok('GET', `/directory/room/${e(`#lounge:${server.serverName}`)}`)).toEqual({ room_id: lounge, servers: [server.serverName] });
      expect(await client.ok('GET', `/directory/list/room/${e(lounge)}`)).toEqual({ visibility: 'public' });
      expect(await client.ok('GET', `/directory/list/room/${e(hall)}`)).toEqual({ visibility: 'private' });
    });
  });
});
