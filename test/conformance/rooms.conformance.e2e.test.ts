// Conformance of the issue-4 room endpoints (creation, membership, state, events, directory, upgrades)
// to the spec (v1.19): each operation's happy path and the errors its OpenAPI definition
// documents, with every answer validated against the operation's response schema
// (matrix-spec/data/api/client-server/*.yaml). Expectations come from the spec text; where Strata
// deviates the test is `it.fails` with the violation named, so that it flips once Strata is fixed.
// The errors every endpoint shares (tokens, bad JSON, rate limits, CORS) are in commonErrors.conformance.e2e.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { e, type Body, type TestServer } from '../harness/index.ts';
import type { ConformingClient } from './conformance.ts';
import { room, startConformanceWorld } from './world.ts';

describe('client-server conformance: rooms (embedded)', () => {
  let server: TestServer;
  let anonymous: ConformingClient;
  let alice: ConformingClient;
  let bob: ConformingClient;
  let carol: ConformingClient;
  let aliceId: string;
  let bobId: string;
  let carolId: string;
  /** alice's public room, which bob joins. */
  let hall: string;
  let hallMessage: string;

  beforeAll(async () => {
    ({ server, anonymous, alice, bob, carol, aliceId, bobId, carolId, hall, hallMessage } = await startConformanceWorld());
  });
  afterAll(() => server?.stop());

  describe('room creation and membership (create_room.yaml, joining.yaml, leaving.yaml, inviting.yaml, kicking.yaml, banning.yaml, knocking.yaml)', () => {
    it('POST /createRoom answers room_id', async () => {
      expect((await alice.post('/createRoom', { preset: 'private_chat', topic: 't', is_direct: false })).room_id).toMatch(/^!/);
    });

    it('POST /createRoom refuses an unknown room version with 400 M_UNSUPPORTED_ROOM_VERSION', async () => {
      await alice.fails('POST', '/createRoom', { status: 400, errcode: 'M_UNSUPPORTED_ROOM_VERSION' }, { json: { room_version: '999' } });
    });

    it('POST /createRoom refuses a taken alias with 400 M_ROOM_IN_USE', async () => {
      await alice.fails('POST', '/createRoom', { status: 400, errcode: 'M_ROOM_IN_USE' }, { json: { room_alias_name: 'hall' } });
    });

    it('POST /createRoom refuses wrong types with 400 M_BAD_JSON', async () => {
      await alice.fails('POST', '/createRoom', { status: 400, errcode: 'M_BAD_JSON' }, { json: { preset: 5 } });
      await alice.fails('POST', '/createRoom', { status: 400, errcode: 'M_BAD_JSON' }, { json: { invite: 'not-a-list' } });
    });

    it('POST /createRoom refuses initial state the creator could not send with 400 M_INVALID_ROOM_STATE', async () => {
      await alice.fails('POST', '/createRoom', { status: 400, errcode: 'M_INVALID_ROOM_STATE' }, {
        json: { name: 'Locked', power_level_content_override: { users: { [aliceId]: 0 }, state_default: 50, events: { 'm.room.name': 100 } } },
      });
    });

    it('joins by alias and by id, leaves, forgets; forgetting a joined room is 400 M_UNKNOWN', async () => {
      expect((await carol.post(`/join/${e(`#hall:${server.serverName}`)}`)).room_id).toBe(hall);
      await carol.fails('POST', room(hall, '/forget'), { status: 400, errcode: 'M_UNKNOWN' });
      expect(await carol.post(room(hall, '/leave'))).toEqual({});
      expect(await carol.post(room(hall, '/forget'))).toEqual({});
      expect((await carol.post(room(hall, '/join'))).room_id).toBe(hall);
    });

    it('refuses to join an invite-only room without an invite with 403 M_FORBIDDEN', async () => {
      const { room_id: secret } = await alice.post('/createRoom', { preset: 'private_chat' });
      await bob.fails('POST', room(secret as string, '/join'), { status: 403, errcode: 'M_FORBIDDEN' });
      await bob.fails('POST', `/join/${e(secret as string)}`, { status: 403, errcode: 'M_FORBIDDEN' });
    });

    it('invites, kicks, bans and unbans', async () => {
      const { room_id: roomId } = await alice.post('/createRoom', { preset: 'private_chat' });
      const r = roomId as string;
      expect(await alice.post(room(r, '/invite'), { user_id: bobId })).toEqual({});
      await bob.post(room(r, '/join'));
      expect(await alice.post(room(r, '/kick'), { user_id: bobId, reason: 'r' })).toEqual({});
      expect(await alice.post(room(r, '/ban'), { user_id: bobId })).toEqual({});
      expect(await alice.post(room(r, '/unban'), { user_id: bobId })).toEqual({});
    });

    it('refuses to invite a banned user and to kick a non-member with 403 M_FORBIDDEN (inviting.yaml, kicking.yaml)', async () => {
      const { room_id: roomId } = await alice.post('/createRoom', { preset: 'private_chat' });
      const r = roomId as string;
      await alice.post(room(r, '/ban'), { user_id: carolId });
      await alice.fails('POST', room(r, '/invite'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { user_id: carolId } });
      await alice.fails('POST', room(r, '/kick'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { user_id: bobId } });
    });

    it('refuses a knock from a banned user with 403 M_FORBIDDEN (knocking.yaml)', async () => {
      const { room_id: roomId } = await alice.post('/createRoom', { preset: 'private_chat', initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] });
      await alice.post(room(roomId as string, '/ban'), { user_id: carolId });
      await carol.fails('POST', `/knock/${e(roomId as string)}`, { status: 403, errcode: 'M_FORBIDDEN' });
    });

    it('refuses invites from non-members and of members with 403 M_FORBIDDEN', async () => {
      const { room_id: roomId } = await alice.post('/createRoom', { preset: 'private_chat' });
      await carol.fails('POST', room(roomId as string, '/invite'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { user_id: bobId } });
      await alice.fails('POST', room(hall, '/invite'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { user_id: bobId } });
    });

    it('refuses kick, ban and unban without the power level with 403 M_FORBIDDEN', async () => {
      await bob.fails('POST', room(hall, '/kick'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { user_id: carolId } });
      await bob.fails('POST', room(hall, '/ban'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { user_id: carolId } });
      await bob.fails('POST', room(hall, '/unban'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { user_id: carolId } });
    });

    it('knocks on a knock room; a room not set up for knocking is 403 M_FORBIDDEN', async () => {
      const { room_id: knockRoom } = await alice.post('/createRoom', { preset: 'private_chat', initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'knock' } }] });
      expect((await bob.post(`/knock/${e(knockRoom as string)}`, { reason: 'let me in' })).room_id).toBe(knockRoom);
      const { room_id: closed } = await alice.post('/createRoom', { preset: 'private_chat' });
      await bob.fails('POST', `/knock/${e(closed as string)}`, { status: 403, errcode: 'M_FORBIDDEN' });
    });

    it('knocking on an unknown alias is 404 M_NOT_FOUND', async () => {
      await bob.fails('POST', `/knock/${e(`#nowhere:${server.serverName}`)}`, { status: 404, errcode: 'M_NOT_FOUND' });
    });

    it('GET /joined_rooms', async () => {
      expect((await bob.get('/joined_rooms')).joined_rooms).toContain(hall);
    });
  });

  describe('room state and events (room_state.yaml, room_send.yaml, redaction.yaml, rooms.yaml, message_pagination.yaml, event_context.yaml)', () => {
    it('puts and gets state, with and without a state key', async () => {
      expect((await alice.put(room(hall, '/state/m.room.topic/'), { topic: 'talk' })).event_id).toMatch(/^\$/);
      expect(await bob.get(room(hall, '/state/m.room.topic/'))).toEqual({ topic: 'talk' });
      expect(await bob.get(room(hall, '/state/m.room.topic'))).toEqual({ topic: 'talk' });
      expect((await bob.get(room(hall, '/state'))) as unknown).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'm.room.topic' })]));
    });

    it('GET /state/{type}/{key} of absent state is 404 M_NOT_FOUND', async () => {
      await bob.fails('GET', room(hall, '/state/org.example.absent/'), { status: 404, errcode: 'M_NOT_FOUND' });
    });

    it('refuses state from a member without the power level with 403 M_FORBIDDEN', async () => {
      await bob.fails('PUT', room(hall, '/state/m.room.name/'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { name: 'Mine' } });
    });

    it('refuses a canonical alias that points to another room with 400 M_BAD_ALIAS', async () => {
      const { room_id: other } = await alice.post('/createRoom', { preset: 'public_chat' });
      await alice.fails('PUT', room(other as string, '/state/m.room.canonical_alias/'), { status: 400, errcode: 'M_BAD_ALIAS' }, { json: { alias: `#hall:${server.serverName}` } });
    });

    it('refuses a malformed canonical alias with 400 M_INVALID_PARAM', async () => {
      const { room_id: other } = await alice.post('/createRoom', { preset: 'public_chat' });
      await alice.fails('PUT', room(other as string, '/state/m.room.canonical_alias/'), { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { alias: 'not-an-alias' } });
    });

    it('refuses reading state, members and messages of a room the user never joined with 403 M_FORBIDDEN', async () => {
      const { room_id: secret } = await alice.post('/createRoom', { preset: 'private_chat' });
      const r = secret as string;
      await carol.fails('GET', room(r, '/state'), { status: 403, errcode: 'M_FORBIDDEN' });
      await carol.fails('GET', room(r, '/state/m.room.create/'), { status: 403, errcode: 'M_FORBIDDEN' });
      await carol.fails('GET', room(r, '/members'), { status: 403, errcode: 'M_FORBIDDEN' });
      await carol.fails('GET', room(r, '/joined_members'), { status: 403, errcode: 'M_FORBIDDEN' });
      await carol.fails('GET', room(r, '/messages'), { status: 403, errcode: 'M_FORBIDDEN' }, { query: { dir: 'b' } });
    });

    it('sends with transaction-id idempotency', async () => {
      const first = await bob.put(room(hall, '/send/m.room.message/same'), { msgtype: 'm.text', body: 'once' });
      expect(await bob.put(room(hall, '/send/m.room.message/same'), { msgtype: 'm.text', body: 'once' })).toEqual(first);
    });

    it('refuses to send into a room the user is not in with 403 M_FORBIDDEN', async () => {
      const { room_id: secret } = await alice.post('/createRoom', { preset: 'private_chat' });
      await carol.fails('PUT', room(secret as string, '/send/m.room.message/x'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { msgtype: 'm.text', body: 'hi' } });
    });

    it('refuses an event over 65,536 bytes with 413 M_TOO_LARGE', async () => {
      await bob.fails('PUT', room(hall, '/send/m.room.message/big'), { status: 413, errcode: 'M_TOO_LARGE' }, { json: { msgtype: 'm.text', body: 'x'.repeat(70_000) } });
    });

    it('redacts', async () => {
      const eventId = (await bob.put(room(hall, '/send/m.room.message/to-redact'), { msgtype: 'm.text', body: 'oops' })).event_id as string;
      expect((await bob.put(room(hall, `/redact/${e(eventId)}/r1`), { reason: 'typo' })).event_id).toMatch(/^\$/);
    });

    it('GET /event/{id}; an unknown event is 404 M_NOT_FOUND', async () => {
      expect(await bob.get(room(hall, `/event/${e(hallMessage)}`))).toMatchObject({ event_id: hallMessage, type: 'm.room.message' });
      await bob.fails('GET', room(hall, `/event/${e('$nosuchevent')}`), { status: 404, errcode: 'M_NOT_FOUND' });
    });

    it('GET /event/{id} of a room the user cannot see is 404 M_NOT_FOUND (rooms.yaml: "not found or you do not have permission")', async () => {
      const { room_id: secret } = await alice.post('/createRoom', { preset: 'private_chat' });
      const eventId = (await alice.put(room(secret as string, '/send/m.room.message/s1'), { msgtype: 'm.text', body: 'secret' })).event_id as string;
      await carol.fails('GET', room(secret as string, `/event/${e(eventId)}`), { status: 404, errcode: 'M_NOT_FOUND' });
    });

    it('GET /members and /joined_members', async () => {
      expect(((await bob.get(room(hall, '/members'))).chunk as Body[]).map((event) => event.state_key)).toEqual(expect.arrayContaining([aliceId, bobId]));
      expect(Object.keys((await bob.get(room(hall, '/joined_members'))).joined as Body)).toEqual(expect.arrayContaining([aliceId, bobId]));
    });

    it('GET /messages both ways and GET /context/{id}', async () => {
      const back = await bob.get(room(hall, '/messages'), { dir: 'b', limit: 5 });
      expect((back.chunk as Body[]).length).toBeGreaterThan(0);
      await bob.get(room(hall, '/messages'), { dir: 'f', from: back.end as string, limit: 5 });
      expect((await bob.get(room(hall, `/context/${e(hallMessage)}`), { limit: 2 })).event).toMatchObject({ event_id: hallMessage });
    });

    it('GET /messages with an invalid dir is 400', async () => {
      await bob.fails('GET', room(hall, '/messages'), { status: 400, errcode: ['M_INVALID_PARAM', 'M_BAD_JSON'] }, { query: { dir: 'sideways' } });
    });
  });

  describe('directory and upgrades (directory.yaml, list_public_rooms.yaml, room_upgrades.yaml)', () => {
    it('aliases: put, get, list; a taken alias is 409, an unknown one 404 M_NOT_FOUND, a malformed one 400 M_INVALID_PARAM', async () => {
      const alias = `#lobby:${server.serverName}`;
      expect(await alice.put(`/directory/room/${e(alias)}`, { room_id: hall })).toEqual({});
      expect(await bob.get(`/directory/room/${e(alias)}`)).toMatchObject({ room_id: hall, servers: expect.any(Array) });
      expect((await bob.get(room(hall, '/aliases'))).aliases).toContain(alias);
      await alice.fails('PUT', `/directory/room/${e(alias)}`, { status: 409, errcode: 'M_UNKNOWN' }, { json: { room_id: hall } });
      await bob.fails('GET', `/directory/room/${e(`#none:${server.serverName}`)}`, { status: 404, errcode: 'M_NOT_FOUND' });
      await bob.fails('GET', `/directory/room/${e('no-hash')}`, { status: 400, errcode: 'M_INVALID_PARAM' });
      expect(await alice.ok('DELETE', `/directory/room/${e(alias)}`)).toEqual({});
      await alice.fails('DELETE', `/directory/room/${e(alias)}`, { status: 404, errcode: 'M_NOT_FOUND' });
    });

    it('GET /rooms/{id}/aliases of a room the user cannot see is 403 M_FORBIDDEN', async () => {
      const { room_id: secret } = await alice.post('/createRoom', { preset: 'private_chat' });
      await carol.fails('GET', room(secret as string, '/aliases'), { status: 403, errcode: 'M_FORBIDDEN' });
    });

    it('room directory visibility and /publicRooms', async () => {
      expect(await alice.put(`/directory/list/room/${e(hall)}`, { visibility: 'public' })).toEqual({});
      expect(await anonymous.get(`/directory/list/room/${e(hall)}`)).toEqual({ visibility: 'public' });
      expect(((await anonymous.get('/publicRooms')).chunk as Body[]).map((chunk) => chunk.room_id)).toContain(hall);
      expect(((await bob.post('/publicRooms', { limit: 10, filter: { generic_search_term: 'Hall' } })).chunk as Body[]).map((chunk) => chunk.room_id)).toContain(hall);
    });

    it('directory visibility of an unknown room is 404 M_NOT_FOUND', async () => {
      await anonymous.fails('GET', `/directory/list/room/${e(`!nowhere:${server.serverName}`)}`, { status: 404, errcode: 'M_NOT_FOUND' });
      await alice.fails('PUT', `/directory/list/room/${e(`!nowhere:${server.serverName}`)}`, { status: 404, errcode: 'M_NOT_FOUND' }, { json: { visibility: 'public' } });
    });

    it('upgrades a room; an unknown version is 400 M_UNSUPPORTED_ROOM_VERSION, a non-admin 403 M_FORBIDDEN', async () => {
      const { room_id: old } = await alice.post('/createRoom', { preset: 'public_chat', room_version: '11' });
      await bob.post(room(old as string, '/join'));
      await alice.fails('POST', room(old as string, '/upgrade'), { status: 400, errcode: 'M_UNSUPPORTED_ROOM_VERSION' }, { json: { new_version: '999' } });
      await bob.fails('POST', room(old as string, '/upgrade'), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { new_version: '12' } });
      expect((await alice.post(room(old as string, '/upgrade'), { new_version: '12' })).replacement_room).toMatch(/^!/);
    });
  });

});
