// The user directory, mutual rooms, room summaries and content reports over HTTP against the whole
// server (infra/strata.ts). Expectations come from the spec (v1.19: users.yaml, mutual_rooms.yaml,
// room_summary.yaml, report_content.yaml) and, where it is silent, Synapse's defaults.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type TestServer, type UserClient } from '../harness/index.ts';

const V1 = '/_matrix/client/v1';

describe('user directory, mutual rooms, room summaries and reports (embedded)', () => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let dave: UserClient;
  /** alice and bob's private room. */
  let shared: string;
  /** dave's public room, #lobby. */
  let lobby: string;
  /** carol's private room, alone. */
  let hideout: string;

  const search = (who: UserClient, term: string, limit?: number) =>
    who.post('/user_directory/search', { search_term: term, ...(limit === undefined ? {} : { limit }) });
  const found = (response: Body): string[] => (response.results as Body[]).map((user) => user.user_id as string);

  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded' });
    client = new MatrixClient(server.url);
    [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map(async (name) => client.as(await client.register(name))));
    await alice.put(`/profile/${e(alice.userId)}/displayname`, { displayname: 'Alice Liddell' });
    await bob.put(`/profile/${e(bob.userId)}/displayname`, { displayname: 'Bobby Tables' });
    await dave.put(`/profile/${e(dave.userId)}/displayname`, { displayname: 'Dave Bowman' });
    await dave.put(`/profile/${e(dave.userId)}/avatar_url`, { avatar_url: 'mxc://strata.test/dave' });
    shared = await alice.createRoom({ preset: 'private_chat', name: 'Shared', invite: [bob.userId] });
    await bob.post(`/join/${e(shared)}`);
    lobby = await dave.createRoom({ preset: 'public_chat', name: 'Lobby', topic: 'Say hi', room_alias_name: 'lobby' });
    hideout = await carol.createRoom({ preset: 'private_chat', name: 'Hideout' });
  });
  afterAll(() => server?.stop());

  it('finds users sharing a room or in a public room, by word prefix of id or name, case-insensitively', async () => {
    expect(await search(alice, 'bob')).toEqual({ limited: false, results: [{ user_id: bob.userId, display_name: 'Bobby Tables' }] });
    expect(found(await search(alice, 'TAB'))).toEqual([bob.userId]);
    expect(found(await search(alice, 'bobby ta'))).toEqual([bob.userId]);
    // Not the start of a word.
    expect(found(await search(alice, 'obby'))).toEqual([]);
    // dave is in a public room; carol shares nothing with alice.
    expect(await search(alice, 'dave')).toEqual({ limited: false, results: [{ user_id: dave.userId, display_name: 'Dave Bowman', avatar_url: 'mxc://strata.test/dave' }] });
    expect(found(await search(alice, 'carol'))).toEqual([]);
    expect(found(await search(carol, 'bob'))).toEqual([]);
    expect(found(await search(carol, 'bowman'))).toEqual([dave.userId]);
    // Every user matches the server name: bob finds alice (shared room) before dave (public room),
    // not himself (in no public room) nor carol.
    expect(found(await search(bob, 'strata.test', 10))).toEqual([alice.userId, dave.userId]);
    const limited = await search(bob, 'strata', 1);
    expect(found(limited)).toEqual([alice.userId]);
    expect(limited.limited).toBe(true);
    // dave is in a public room, so he finds himself.
    expect(found(await search(dave, 'dave'))).toEqual([dave.userId]);
  });

  it('shows a local user’s current profile', async () => {
    await bob.put(`/profile/${e(bob.userId)}/displayname`, { displayname: 'Robert Tables' });
    expect(await search(alice, 'robert')).toEqual({ limited: false, results: [{ user_id: bob.userId, display_name: 'Robert Tables' }] });
  });

  it('refuses a search without a term', async () => {
    await alice.fails('POST', '/user_directory/search', { status: 400, errcode: 'M_MISSING_PARAM' }, { json: {} });
    await alice.fails('POST', '/user_directory/search', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { search_term: 7 } });
  });

  it('lists the rooms two users are both joined to', async () => {
    expect(await alice.get(`${V1}/mutual_rooms`, { user_id: bob.userId })).toEqual({ joined: [shared], count: 1 });
    expect(await alice.get(`${V1}/mutual_rooms`, { user_id: carol.userId })).toEqual({ joined: [], count: 0 });
    // "If the provided user_id is not a valid user, the server MUST return an empty list of rooms."
    expect(await alice.get(`${V1}/mutual_rooms`, { user_id: '@nobody:strata.test' })).toEqual({ joined: [], count: 0 });
    await alice.fails('GET', `${V1}/mutual_rooms`, { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { user_id: alice.userId } });
    await alice.fails('GET', `${V1}/mutual_rooms`, { status: 400, errcode: 'M_INVALID_PARAM' });
    await alice.fails('GET', `${V1}/mutual_rooms`, { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { user_id: bob.userId, from: 'x' } });
  });

  it('summarises rooms the user may see, by id or alias, and hides the others', async () => {
    expect(await alice.get(`${V1}/room_summary/${e(shared)}`)).toEqual({
      // The private_chat preset gives guest_access can_join.
      room_id: shared, name: 'Shared', num_joined_members: 2, world_readable: false, guest_can_join: true,
      join_rule: 'invite', room_version: '12', membership: 'join',
    });
    const byAlias = await carol.get(`${V1}/room_summary/${e(`#lobby:${server.serverName}`)}`);
    expect(byAlias).toEqual({
      room_id: lobby, name: 'Lobby', topic: 'Say hi', canonical_alias: `#lobby:${server.serverName}`, num_joined_members: 1,
      world_readable: false, guest_can_join: false, join_rule: 'public', room_version: '12', membership: 'leave',
    });
    // Without a token the public room is still shown, without `membership`.
    const anonymous = await client.ok('GET', `${V1}/room_summary/${e(lobby)}`);
    expect(anonymous.room_id).toBe(lobby);
    expect(anonymous.membership).toBeUndefined();
    await carol.fails('GET', `${V1}/room_summary/${e(shared)}`, { status: 404, errcode: 'M_NOT_FOUND' });
    await client.fails('GET', `${V1}/room_summary/${e(hideout)}`, { status: 404, errcode: 'M_NOT_FOUND' });
    await alice.fails('GET', `${V1}/room_summary/${e('!nosuchroom:strata.test')}`, { status: 404, errcode: 'M_NOT_FOUND' });
    await alice.fails('GET', `${V1}/room_summary/${e('#nosuch:strata.test')}`, { status: 404, errcode: 'M_NOT_FOUND' });
    // A restricted room is shown to members of an allowed room, with its encryption.
    const annex = await alice.createRoom({ preset: 'private_chat', name: 'Annex', initial_state: [
      { type: 'm.room.join_rules', state_key: '', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: shared }] } },
      { type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } },
    ] });
    expect(await bob.get(`${V1}/room_summary/${e(annex)}`)).toMatchObject({
      room_id: annex, join_rule: 'restricted', allowed_room_ids: [shared], encryption: 'm.megolm.v1.aes-sha2', membership: 'leave',
    });
    await carol.fails('GET', `${V1}/room_summary/${e(annex)}`, { status: 404, errcode: 'M_NOT_FOUND' });
    // An invited user sees the room they are invited to.
    await carol.post(`/rooms/${e(hideout)}/invite`, { user_id: dave.userId });
    expect(await dave.get(`${V1}/room_summary/${e(hideout)}`)).toMatchObject({ room_id: hideout, name: 'Hideout', membership: 'invite' });
  });

  it('takes reports of events, rooms and users, with the spec’s errors', async () => {
    const message = (await alice.put(`/rooms/${e(shared)}/send/m.room.message/r1`, { msgtype: 'm.text', body: 'spam' })).event_id as string;
    expect(await bob.post(`/rooms/${e(shared)}/report/${e(message)}`, { reason: 'spam' })).toEqual({});
    expect(await bob.post(`/rooms/${e(shared)}/report/${e(message)}`, {})).toEqual({});
    // Not joined to the room, or no such event: 404.
    await carol.fails('POST', `/rooms/${e(shared)}/report/${e(message)}`, { status: 404, errcode: 'M_NOT_FOUND' }, { json: { reason: 'x' } });
    await bob.fails('POST', `/rooms/${e(shared)}/report/${e('$nosuch')}`, { status: 404, errcode: 'M_NOT_FOUND' }, { json: { reason: 'x' } });

    expect(await carol.post(`/rooms/${e(lobby)}/report`, { reason: 'off topic' })).toEqual({});
    await carol.fails('POST', `/rooms/${e('!nosuchroom:strata.test')}/report`, { status: 404, errcode: 'M_NOT_FOUND' }, { json: { reason: 'x' } });
    await carol.fails('POST', `/rooms/${e(lobby)}/report`, { status: 400, errcode: 'M_MISSING_PARAM' }, { json: {} });

    expect(await carol.post(`/users/${e(dave.userId)}/report`, { reason: '' })).toEqual({});
    await carol.fails('POST', `/users/${e('@nobody:strata.test')}/report`, { status: 404, errcode: 'M_NOT_FOUND' }, { json: { reason: 'x' } });
    await carol.fails('POST', `/users/${e(dave.userId)}/report`, { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { reason: 5 } });
  });
});
