// Room behaviours clients and bridges run into, over HTTP against the whole server in both
// deployments: repeated state and memberships answer the current event, redactions stay in their
// room, deleted aliases leave the canonical alias, membership bodies reach the member event,
// upgrades, profile fields, /context for non-members and erased users' messages on every read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, PASSWORD, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../../../test/harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('room corners (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;

  /** The current state event, from the whole state (`?format=event` answers fail the spec's `oneOf`). */
  const stateEvent = async (user: UserClient, roomId: string, type: string, stateKey = ''): Promise<Body> => {
    const state = (await user.client.ok('GET', `/rooms/${e(roomId)}/state`, { token: user.session.accessToken })) as unknown as Body[];
    const found = state.find((event) => event.type === type && event.state_key === stateKey);
    if (found === undefined) throw new Error(`no ${type} ${stateKey} in ${roomId}`);
    return found;
  };
  const stateEventId = async (user: UserClient, roomId: string, type: string, stateKey = ''): Promise<string> =>
    (await stateEvent(user, roomId, type, stateKey)).event_id as string;
  const timelineIds = async (user: UserClient, roomId: string): Promise<string[]> =>
    ((await user.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 100 })).chunk as Body[]).map((event) => event.event_id as string);

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    alice = client.as(await client.register('alice'));
    bob = client.as(await client.register('bob'));
    carol = client.as(await client.register('carol'));
  });
  afterAll(() => server?.stop());

  describe('repeated state changes nothing', () => {
    it('answers PUT state identical to the current event (same sender, same content) with its event id, without a new event', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      const topic = (await alice.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: 'one', 'org.example.extra': { a: 1, b: 2 } })).event_id;
      const before = await timelineIds(alice, roomId);
      // Key order is no difference: content compares as canonical JSON.
      expect((await alice.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { 'org.example.extra': { b: 2, a: 1 }, topic: 'one' })).event_id).toBe(topic);
      expect(await timelineIds(alice, roomId)).toEqual(before);
      const changed = (await alice.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: 'two' })).event_id;
      expect(changed).not.toBe(topic);
      expect(await stateEventId(alice, roomId, 'm.room.topic')).toBe(changed);
    });

    it('answers the same content from another sender with a new event', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.post(`/join/${e(roomId)}`);
      const levels = await alice.get(`/rooms/${e(roomId)}/state/m.room.power_levels/`);
      await alice.put(`/rooms/${e(roomId)}/state/m.room.power_levels/`, { ...levels, users: { ...levels.users, [bob.userId]: 100 } });
      const byAlice = (await alice.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: 'shared' })).event_id;
      const byBob = (await bob.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: 'shared' })).event_id;
      expect(byBob).not.toBe(byAlice);
      expect(await stateEventId(alice, roomId, 'm.room.topic')).toBe(byBob);
    });

    it('answers joining while joined (POST /join, /rooms/{id}/join, PUT m.room.member) with the current member event; a changed displayname is a new event', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.post(`/join/${e(roomId)}`);
      const joined = await stateEventId(bob, roomId, 'm.room.member', bob.userId);
      const before = await timelineIds(alice, roomId);
      expect(await bob.post(`/join/${e(roomId)}`)).toEqual({ room_id: roomId });
      expect(await bob.post(`/rooms/${e(roomId)}/join`)).toEqual({ room_id: roomId });
      const memberContent = await bob.get(`/rooms/${e(roomId)}/state/m.room.member/${e(bob.userId)}`);
      expect((await bob.put(`/rooms/${e(roomId)}/state/m.room.member/${e(bob.userId)}`, memberContent)).event_id).toBe(joined);
      expect(await stateEventId(bob, roomId, 'm.room.member', bob.userId)).toBe(joined);
      expect(await timelineIds(alice, roomId)).toEqual(before);

      const renamed = (await bob.put(`/rooms/${e(roomId)}/state/m.room.member/${e(bob.userId)}`, { ...memberContent, displayname: 'Bobby' })).event_id;
      expect(renamed).not.toBe(joined);
      // A join with a reason is not the same content either.
      await bob.post(`/rooms/${e(roomId)}/join`, { reason: 'back' });
      expect(await stateEventId(bob, roomId, 'm.room.member', bob.userId)).not.toBe(renamed);
    });

    it('answers a repeated invite with the invite already there', async () => {
      const roomId = await alice.createRoom({ preset: 'private_chat' });
      await alice.post(`/rooms/${e(roomId)}/invite`, { user_id: carol.userId });
      const invite = await stateEventId(alice, roomId, 'm.room.member', carol.userId);
      const before = await timelineIds(alice, roomId);
      await alice.post(`/rooms/${e(roomId)}/invite`, { user_id: carol.userId });
      expect(await stateEventId(alice, roomId, 'm.room.member', carol.userId)).toBe(invite);
      expect(await timelineIds(alice, roomId)).toEqual(before);
    });

    it('still refuses a repeated state event its sender may no longer send', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.post(`/join/${e(roomId)}`);
      const levels = await alice.get(`/rooms/${e(roomId)}/state/m.room.power_levels/`);
      await alice.put(`/rooms/${e(roomId)}/state/m.room.power_levels/`, { ...levels, users: { ...levels.users, [bob.userId]: 50 } });
      await bob.put(`/rooms/${e(roomId)}/state/m.room.topic/`, { topic: 'by bob' });
      await alice.put(`/rooms/${e(roomId)}/state/m.room.power_levels/`, levels);
      await bob.fails('PUT', `/rooms/${e(roomId)}/state/m.room.topic/`, { status: 403, errcode: 'M_FORBIDDEN' }, { json: { topic: 'by bob' } });
    });
  });

  describe('redactions stay in their room', () => {
    it("refuses redacting another room's event with 400 M_INVALID_PARAM (Synapse), by /redact and by send, appending nothing", async () => {
      const here = await alice.createRoom({ preset: 'public_chat' });
      const there = await alice.createRoom({ preset: 'public_chat' });
      const elsewhere = await alice.send(there, 'keep me');
      const before = await timelineIds(alice, here);
      await alice.fails('PUT', `/rooms/${e(here)}/redact/${e(elsewhere)}/cross-1`, { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { reason: 'no' } });
      await alice.fails('PUT', `/rooms/${e(here)}/send/m.room.redaction/cross-2`, { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { redacts: elsewhere } });
      expect(await timelineIds(alice, here)).toEqual(before);
      expect((await alice.get(`/rooms/${e(there)}/event/${e(elsewhere)}`)).content).toEqual({ msgtype: 'm.text', body: 'keep me' });
    });

    it('refuses a member without the redact level an unknown event (404); the redact level may redact one not seen yet, as Synapse', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.post(`/join/${e(roomId)}`);
      const unknown = `$${'A'.repeat(43)}`;
      await bob.fails('PUT', `/rooms/${e(roomId)}/redact/${e(unknown)}/unknown-1`, { status: 404, errcode: 'M_NOT_FOUND' }, { json: {} });
      // It may arrive later over federation: the redaction waits for it (domain/room/redactions.ts).
      expect((await alice.put(`/rooms/${e(roomId)}/redact/${e(unknown)}/unknown-2`, {})).event_id).toMatch(/^\$/);
    });
  });

  describe('deleting an alias', () => {
    it('removes it from m.room.canonical_alias (alias and alt_aliases), sent as the deleting user', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.post(`/join/${e(roomId)}`);
      const [main, alt, other] = ['main', 'alt', 'other'].map((name) => `#${name}-${mode}:${server.serverName}`) as [string, string, string];
      for (const alias of [main, alt, other]) await alice.put(`/directory/room/${e(alias)}`, { room_id: roomId });
      await alice.put(`/rooms/${e(roomId)}/state/m.room.canonical_alias/`, { alias: main, alt_aliases: [alt, other, '#far:elsewhere.test'] });
      const canonical = () => alice.get(`/rooms/${e(roomId)}/state/m.room.canonical_alias/`);

      await alice.delete(`/directory/room/${e(alt)}`);
      expect(await canonical()).toEqual({ alias: main, alt_aliases: [other, '#far:elsewhere.test'] });
      expect((await stateEvent(alice, roomId, 'm.room.canonical_alias')).sender).toBe(alice.userId);
      await alice.delete(`/directory/room/${e(main)}`);
      expect(await canonical()).toEqual({ alt_aliases: [other, '#far:elsewhere.test'] });
      await alice.fails('GET', `/directory/room/${e(main)}`, { status: 404, errcode: 'M_NOT_FOUND' });
      // An alias the canonical alias does not name changes nothing in the room.
      const unnamed = `#unnamed-${mode}:${server.serverName}`;
      await alice.put(`/directory/room/${e(unnamed)}`, { room_id: roomId });
      const before = await timelineIds(alice, roomId);
      await alice.delete(`/directory/room/${e(unnamed)}`);
      expect(await timelineIds(alice, roomId)).toEqual(before);
    });

    it('still deletes the alias when its creator may not change the canonical alias, which then keeps it (Synapse)', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.post(`/join/${e(roomId)}`);
      const bobs = `#bobs-${mode}:${server.serverName}`;
      await bob.put(`/directory/room/${e(bobs)}`, { room_id: roomId });
      await alice.put(`/rooms/${e(roomId)}/state/m.room.canonical_alias/`, { alt_aliases: [bobs] });
      await bob.delete(`/directory/room/${e(bobs)}`);
      await bob.fails('GET', `/directory/room/${e(bobs)}`, { status: 404, errcode: 'M_NOT_FOUND' });
      expect(await alice.get(`/rooms/${e(roomId)}/state/m.room.canonical_alias/`)).toEqual({ alt_aliases: [bobs] });
    });
  });

  describe('membership bodies', () => {
    it('copies the body of POST /join/{roomIdOrAlias} into the join, never its membership nor an authoriser', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await bob.post(`/join/${e(roomId)}`, {
        reason: 'hello', displayname: 'Bob (bridged)', 'org.example.bridge': { id: 7 }, membership: 'leave', join_authorised_via_users_server: alice.userId,
      });
      expect(await bob.get(`/rooms/${e(roomId)}/state/m.room.member/${e(bob.userId)}`))
        .toEqual({ membership: 'join', displayname: 'Bob (bridged)', reason: 'hello', 'org.example.bridge': { id: 7 } });
      // Bounded: content past the event size limit is refused, not appended.
      await carol.fails('POST', `/join/${e(roomId)}`, { status: 413, errcode: 'M_TOO_LARGE' }, { json: { 'org.example.big': 'x'.repeat(65_000) } });
      await carol.fails('POST', `/join/${e(roomId)}`, { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { reason: 7 } });
    });

    it('takes only the reason on /rooms/{roomId}/join, leave, invite, kick, ban and unban (Synapse)', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      const member = (userId: string) => alice.get(`/rooms/${e(roomId)}/state/m.room.member/${e(userId)}`);
      const extra = { 'org.example.extra': 1 };
      await bob.post(`/rooms/${e(roomId)}/join`, { reason: 'in', ...extra });
      expect(await member(bob.userId)).toEqual({ membership: 'join', displayname: 'bob', reason: 'in' });
      await bob.post(`/rooms/${e(roomId)}/leave`, { reason: 'out', ...extra });
      expect(await member(bob.userId)).toEqual({ membership: 'leave', reason: 'out' });
      await alice.post(`/rooms/${e(roomId)}/invite`, { user_id: carol.userId, reason: 'come', ...extra });
      expect(await member(carol.userId)).toEqual({ membership: 'invite', displayname: 'carol', reason: 'come' });
      await alice.post(`/rooms/${e(roomId)}/kick`, { user_id: carol.userId, reason: 'go', ...extra });
      expect(await member(carol.userId)).toEqual({ membership: 'leave', reason: 'go' });
      await alice.post(`/rooms/${e(roomId)}/ban`, { user_id: carol.userId, reason: 'spam', ...extra });
      expect(await member(carol.userId)).toEqual({ membership: 'ban', reason: 'spam' });
      await alice.post(`/rooms/${e(roomId)}/unban`, { user_id: carol.userId, reason: 'sorry', ...extra });
      expect(await member(carol.userId)).toEqual({ membership: 'leave', reason: 'sorry' });
    });
  });

  describe('room upgrades', () => {
    it.each(['11', '12'])('upgrades a v%s room: predecessor, aliases and canonical alias, power levels, bans', async (version) => {
      const roomId = await alice.createRoom({ preset: 'public_chat', room_version: version });
      await bob.post(`/join/${e(roomId)}`);
      await carol.post(`/join/${e(roomId)}`);
      await alice.post(`/rooms/${e(roomId)}/ban`, { user_id: carol.userId, reason: 'spam' });
      const local = `#upgrade-${version}-${mode}:${server.serverName}`;
      await alice.put(`/directory/room/${e(local)}`, { room_id: roomId });
      await alice.put(`/rooms/${e(roomId)}/state/m.room.canonical_alias/`, { alias: local, alt_aliases: ['#far:elsewhere.test'] });
      const levels = await alice.get(`/rooms/${e(roomId)}/state/m.room.power_levels/`);
      // events_default above Moderator must stay; invite is raised.
      await alice.put(`/rooms/${e(roomId)}/state/m.room.power_levels/`, { ...levels, events_default: 60, invite: 0, events: { ...levels.events, 'org.example.custom': 20 } });

      const { replacement_room: newRoomId } = await alice.post(`/rooms/${e(roomId)}/upgrade`, { new_version: version });
      const tombstone = await stateEvent(alice, roomId, 'm.room.tombstone');
      expect(tombstone.content.replacement_room).toBe(newRoomId);
      const create = await alice.get(`/rooms/${e(newRoomId)}/state/m.room.create/`);
      // Before v12 `predecessor.event_id` is the tombstone (Synapse); since v12 it is left out.
      expect(create.predecessor).toEqual(version === '12' ? { room_id: roomId } : { room_id: roomId, event_id: tombstone.event_id });

      expect((await alice.get(`/directory/room/${e(local)}`)).room_id).toBe(newRoomId);
      expect(await alice.get(`/rooms/${e(newRoomId)}/state/m.room.canonical_alias/`)).toEqual({ alias: local });
      expect(await alice.get(`/rooms/${e(roomId)}/state/m.room.canonical_alias/`)).toEqual({ alt_aliases: ['#far:elsewhere.test'] });

      const oldLevels = await alice.get(`/rooms/${e(roomId)}/state/m.room.power_levels/`);
      expect([oldLevels.events_default, oldLevels.invite]).toEqual([60, 50]);
      const newLevels = await alice.get(`/rooms/${e(newRoomId)}/state/m.room.power_levels/`);
      expect(newLevels).toMatchObject({ events_default: 60, invite: 0, events: { 'org.example.custom': 20 } });
      expect(await alice.get(`/rooms/${e(newRoomId)}/state/m.room.member/${e(carol.userId)}`)).toMatchObject({ membership: 'ban', reason: 'spam' });
      // Bob is moved by nobody: he follows the tombstone himself.
      await bob.post(`/join/${e(newRoomId)}`);
    });
  });

  describe('profile fields', () => {
    it('answers a known user without a display name or avatar with 200 {}, an unknown user with 404 (Synapse)', async () => {
      const dora = client.as(await client.register(`dora-${mode}`));
      expect(await bob.get(`/profile/${e(dora.userId)}/avatar_url`)).toEqual({});
      await dora.delete(`/profile/${e(dora.userId)}/displayname`);
      expect(await bob.get(`/profile/${e(dora.userId)}/displayname`)).toEqual({});
      // profile.yaml: an unset custom field is 404.
      await bob.fails('GET', `/profile/${e(dora.userId)}/org.example.job`, { status: 404, errcode: 'M_NOT_FOUND' });
      for (const field of ['displayname', 'avatar_url']) {
        await bob.fails('GET', `/profile/${e(`@nobody:${server.serverName}`)}/${field}`, { status: 404, errcode: 'M_NOT_FOUND' });
      }
    });
  });

  describe('/context for non-members', () => {
    // event_context.yaml names no errors. History visibility decides; an event one may not see
    // answers as an unknown one, 404 (rooms.yaml getOneRoomEvent's answer, and roomExistence.e2e's
    // rule that nobody outside a room learns what it holds). Synapse answers 403 for the former.
    it('lets history visibility decide: 404 for an event hidden from them as for an unknown one, 200 once world_readable', async () => {
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      const message = await alice.send(roomId, 'context');
      const notFound = { status: 404, errcode: 'M_NOT_FOUND' };
      await carol.fails('GET', `/rooms/${e(roomId)}/context/${e(message)}`, notFound);
      await carol.fails('GET', `/rooms/${e(roomId)}/context/${e(`$${'B'.repeat(43)}`)}`, notFound);
      await carol.fails('GET', `/rooms/${e(`!nowhere:${server.serverName}`)}/context/${e(message)}`, notFound);
      const other = await alice.createRoom({ preset: 'public_chat' });
      await alice.fails('GET', `/rooms/${e(other)}/context/${e(message)}`, notFound);

      await alice.put(`/rooms/${e(roomId)}/state/m.room.history_visibility/`, { history_visibility: 'world_readable' });
      // Visibility is judged per event: the message sent under `shared` stays hidden, a new one shows.
      await carol.fails('GET', `/rooms/${e(roomId)}/context/${e(message)}`, notFound);
      const readable = await alice.send(roomId, 'readable');
      const context = await carol.get(`/rooms/${e(roomId)}/context/${e(readable)}`);
      expect(context.event).toMatchObject({ event_id: readable, content: { body: 'readable' } });
      expect((context.events_before as Body[]).map((event) => event.event_id)).not.toContain(message);
    });
  });

  describe('erased users', () => {
    it("hides an erased user's messages from every read: sync, /messages, /context, /event, initialSync, /events, relations, threads, notifications", async () => {
      const erin = client.as(await client.register(`erin-${mode}`));
      const roomId = await alice.createRoom({ preset: 'public_chat' });
      await erin.post(`/join/${e(roomId)}`);
      const root = await alice.send(roomId, 'thread root');
      const secret = `erased-secret-${mode}`;
      const mention = (await erin.put(`/rooms/${e(roomId)}/send/m.room.message/erased-1`, {
        msgtype: 'm.text', body: `${secret} to alice`, 'm.mentions': { user_ids: [alice.userId] },
      })).event_id as string;
      const threaded = (await erin.put(`/rooms/${e(roomId)}/send/m.room.message/erased-2`, {
        msgtype: 'm.text', body: `${secret} in a thread`, 'm.relates_to': { rel_type: 'm.thread', event_id: root },
      })).event_id as string;
      const from = (await alice.get(`/rooms/${e(roomId)}/initialSync`)).messages.start as string;
      const reads: Record<string, { read: () => Promise<Body>; shows: string }> = {
        sync: { read: () => alice.get('/sync'), shows: mention },
        messages: { read: () => alice.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 50 }), shows: mention },
        context: { read: () => alice.get(`/rooms/${e(roomId)}/context/${e(mention)}`), shows: threaded },
        event: { read: () => alice.get(`/rooms/${e(roomId)}/event/${e(mention)}`), shows: mention },
        'event in a thread': { read: () => alice.get(`/rooms/${e(roomId)}/event/${e(threaded)}`), shows: threaded },
        'global /events/{eventId}': { read: () => alice.get(`/events/${e(mention)}`), shows: mention },
        'room initialSync': { read: () => alice.get(`/rooms/${e(roomId)}/initialSync`), shows: mention },
        initialSync: { read: () => alice.get('/initialSync'), shows: mention },
        '/events?room_id': { read: () => alice.get('/events', { room_id: roomId, from, timeout: 0 }), shows: mention },
        relations: { read: () => alice.get(`/_matrix/client/v1/rooms/${e(roomId)}/relations/${e(root)}`), shows: threaded },
        threads: { read: () => alice.get(`/_matrix/client/v1/rooms/${e(roomId)}/threads`), shows: threaded },
        notifications: { read: () => alice.get('/notifications'), shows: mention },
      };
      const seen = async (): Promise<Record<string, { shows: boolean; leaks: boolean }>> => Object.fromEntries(await Promise.all(
        Object.entries(reads).map(async ([name, { read, shows }]) => {
          const text = JSON.stringify(await read());
          return [name, { shows: text.includes(shows), leaks: text.includes(secret) }] as const;
        })));
      // Before the erasure every read shows the messages, content included: the checks below can fail.
      const everywhere = (leaks: boolean) => Object.fromEntries(Object.keys(reads).map((name) => [name, { shows: true, leaks }]));
      expect(await seen()).toEqual(everywhere(true));

      const challenge = await erin.request('POST', '/account/deactivate', { json: { erase: true } });
      await erin.post('/account/deactivate', {
        erase: true,
        auth: { type: 'm.login.password', session: challenge.body.session, identifier: { type: 'm.id.user', user: erin.userId }, password: PASSWORD },
      });
      // The events stay (the room's history holds together), their content is gone from every read;
      // with it their m.relates_to, so the thread reply leaves the relations and the thread list, as
      // after a redaction.
      expect(await seen()).toEqual({ ...everywhere(false), relations: { shows: false, leaks: false }, threads: { shows: false, leaks: false } });
      expect((await alice.get(`/rooms/${e(roomId)}/event/${e(mention)}`)).content).toEqual({});
      // A user joining later reads the same.
      const fred = client.as(await client.register(`fred-${mode}`));
      await fred.post(`/join/${e(roomId)}`);
      const later = JSON.stringify(await fred.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 50 }));
      expect([later.includes(mention), later.includes(secret)]).toEqual([true, false]);
    });
  });
});
