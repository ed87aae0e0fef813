// Side doors: every endpoint that writes a room, tried with events whose effect reaches beyond
// the auth rules (redactions, membership on behalf of others, a second create, tombstones, power
// levels, server ACLs, canonical aliases, encryption, history visibility, join rules). Each
// attempt must be refused by the room decider AND leave the room's state and timeline exactly as
// they were. Bob is a member who may send state (state_default 0) but lacks the redact, kick,
// ban and power-levels powers; alice created the room.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

const FORBIDDEN = { status: 403, errcode: 'M_FORBIDDEN' };
const BAD_JSON = { status: 400, errcode: 'M_BAD_JSON' };

describe.each<ServerMode>(['embedded', 'distributed'])('side doors into a room (%s)', (mode) => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let dave: UserClient;
  /** One room per version family: v12 (redacts in content, creators privileged) and v10 (top-level redacts). */
  const rooms = new Map<string, string>();
  /** Alice's message in each room, the redaction target. */
  const targets = new Map<string, string>();
  let txn = 0;
  const nextTxn = (): string => `side-door-${(txn += 1)}`;

  /** An event as served, without `unsigned.age` (which grows between two reads). */
  const ageless = (event: Body): Body => {
    const { age: _age, ...unsigned } = (event.unsigned ?? {}) as Body;
    return { ...event, unsigned };
  };

  /** The room's full state and timeline, as alice reads them. */
  const snapshot = async (roomId: string): Promise<{ state: Body[]; timeline: Body[] }> => {
    const state = (await alice.get(`/rooms/${e(roomId)}/state`)) as unknown as Body[];
    const timeline = (await alice.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 500 })).chunk as Body[];
    const byKey = (a: Body, b: Body) => `${a.type}|${a.state_key}`.localeCompare(`${b.type}|${b.state_key}`);
    return { state: [...state].sort(byKey).map(ageless), timeline: timeline.map(ageless) };
  };

  /** Runs `attempt` (which asserts its own refusal) and checks the room did not change at all. */
  const refusedAndUnchanged = async (roomId: string, attempt: () => Promise<unknown>): Promise<void> => {
    const before = await snapshot(roomId);
    await attempt();
    expect(await snapshot(roomId)).toEqual(before);
  };

  const powerOverride: Body = {
    state_default: 0,
    redact: 50, kick: 50, ban: 50, invite: 0, events_default: 0,
    events: {
      'm.room.power_levels': 100, 'm.room.tombstone': 100, 'm.room.encryption': 100,
      'm.room.history_visibility': 100, 'm.room.join_rules': 100, 'm.room.server_acl': 0, 'm.room.canonical_alias': 0,
    },
  };

  beforeAll(async () => {
    server = await startTestServer({ mode });
    const client = new MatrixClient(server.url);
    [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map(async (name) => client.as(await client.register(name))));
    for (const version of ['12', '10']) {
      const roomId = await alice.createRoom({ preset: 'public_chat', room_version: version, power_level_content_override: powerOverride });
      await bob.post(`/join/${e(roomId)}`);
      await carol.post(`/join/${e(roomId)}`);
      await alice.put(`/rooms/${e(roomId)}/state/m.room.server_acl`, { allow: ['*'], deny: [] });
      await alice.put(`/rooms/${e(roomId)}/state/m.room.encryption`, { algorithm: 'm.megolm.v1.aes-sha2' });
      rooms.set(version, roomId);
      targets.set(version, await alice.send(roomId, 'alice wrote this'));
    }
  });
  afterAll(() => server?.stop());

  describe.each(['12', '10'])('room version %s', (version) => {
    const room = (): string => rooms.get(version)!;
    const path = (rest: string): string => `/rooms/${e(room())}${rest}`;
    const target = (): string => targets.get(version)!;
    const targetIsWhole = async (): Promise<void> => {
      const event = await alice.get(path(`/event/${e(target())}`));
      expect(event.content).toEqual({ msgtype: 'm.text', body: 'alice wrote this' });
      expect(event.unsigned?.redacted_because).toBeUndefined();
    };

    it('a state m.room.redaction redacts nothing, whatever its state key or content', async () => {
      for (const stateKey of ['', 'x', bob.userId]) {
        await refusedAndUnchanged(room(), () =>
          bob.fails('PUT', path(`/state/m.room.redaction/${e(stateKey)}`), BAD_JSON, { json: { redacts: target() } }));
      }
      await targetIsWhole();
    });

    it('a member without the redact power cannot redact another user’s event through /redact or /send', async () => {
      await refusedAndUnchanged(room(), () => bob.fails('PUT', path(`/redact/${e(target())}/${nextTxn()}`), FORBIDDEN, { json: { reason: 'x' } }));
      await refusedAndUnchanged(room(), () =>
        bob.fails('PUT', path(`/send/m.room.redaction/${nextTxn()}`), FORBIDDEN, { json: { redacts: target() } }));
      await refusedAndUnchanged(room(), () => bob.fails('PUT', path(`/send/m.room.redaction/${nextTxn()}`), BAD_JSON, { json: {} }));
      // An event this server does not hold: only the redact power may redact it in advance.
      const unknown = version === '10' ? '$aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' : '$bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
      await refusedAndUnchanged(room(), () => bob.fails('PUT', path(`/redact/${e(unknown)}/${nextTxn()}`), { status: 404, errcode: 'M_NOT_FOUND' }));
      await targetIsWhole();
    });

    it('nobody redacts the create event or the server ACL, and no event of another room', async () => {
      const create = await alice.get(path('/state/m.room.create/'), { format: 'event' });
      await refusedAndUnchanged(room(), () => alice.fails('PUT', path(`/redact/${e(create.event_id as string)}/${nextTxn()}`), FORBIDDEN));
      const acl = await alice.get(path('/state/m.room.server_acl/'), { format: 'event' });
      await refusedAndUnchanged(room(), () => alice.fails('PUT', path(`/redact/${e(acl.event_id as string)}/${nextTxn()}`), FORBIDDEN));
      // Synapse: 400 "Cannot redact event from a different room".
      const otherTarget = targets.get(version === '12' ? '10' : '12')!;
      await refusedAndUnchanged(room(), () =>
        alice.fails('PUT', path(`/redact/${e(otherTarget)}/${nextTxn()}`), { status: 400, errcode: 'M_INVALID_PARAM' }));
    });

    it('the state API cannot join, leave, kick or rename someone else', async () => {
      await refusedAndUnchanged(room(), () => bob.fails('PUT', path(`/state/m.room.member/${e(alice.userId)}`), FORBIDDEN, { json: { membership: 'leave' } }));
      await refusedAndUnchanged(room(), () =>
        bob.fails('PUT', path(`/state/m.room.member/${e(carol.userId)}`), FORBIDDEN, { json: { membership: 'join', displayname: 'renamed by bob' } }));
      await refusedAndUnchanged(room(), () => bob.fails('PUT', path(`/state/m.room.member/${e(dave.userId)}`), FORBIDDEN, { json: { membership: 'join' } }));
      await refusedAndUnchanged(room(), () => bob.fails('PUT', path(`/state/m.room.member/${e(carol.userId)}`), FORBIDDEN, { json: { membership: 'ban' } }));
      await refusedAndUnchanged(room(), () => bob.fails('PUT', path(`/state/m.room.member/${e(bob.userId)}`), FORBIDDEN, { json: { membership: 'owner' } }));
    });

    it('the membership endpoints refuse what the member may not do', async () => {
      await refusedAndUnchanged(room(), () => bob.fails('POST', path('/kick'), FORBIDDEN, { json: { user_id: carol.userId } }));
      await refusedAndUnchanged(room(), () => bob.fails('POST', path('/ban'), FORBIDDEN, { json: { user_id: carol.userId } }));
      await alice.post(path('/ban'), { user_id: dave.userId });
      await refusedAndUnchanged(room(), () => bob.fails('POST', path('/unban'), FORBIDDEN, { json: { user_id: dave.userId } }));
      await refusedAndUnchanged(room(), () => bob.fails('POST', path('/invite'), FORBIDDEN, { json: { user_id: dave.userId } }));
      await refusedAndUnchanged(room(), () => dave.fails('POST', `/join/${e(room())}`, FORBIDDEN));
      await refusedAndUnchanged(room(), () => dave.fails('POST', path('/join'), FORBIDDEN));
      await refusedAndUnchanged(room(), () => dave.fails('POST', `/knock/${e(room())}`, FORBIDDEN));
      await alice.post(path('/unban'), { user_id: dave.userId });
      // The decider holds each endpoint to its meaning: /unban of a member would kick them, /kick
      // of someone not in the room would only write a leave.
      await refusedAndUnchanged(room(), () => alice.fails('POST', path('/unban'), FORBIDDEN, { json: { user_id: carol.userId } }));
      await refusedAndUnchanged(room(), () => alice.fails('POST', path('/kick'), FORBIDDEN, { json: { user_id: dave.userId } }));
    });

    it('there is one m.room.create, and tombstones, power levels, ACLs, encryption, visibility and join rules obey power', async () => {
      await refusedAndUnchanged(room(), () => alice.fails('PUT', path('/state/m.room.create/'), FORBIDDEN, { json: { room_version: version } }));
      await refusedAndUnchanged(room(), () => alice.fails('PUT', path('/state/m.room.create/x'), FORBIDDEN, { json: { room_version: version } }));
      await refusedAndUnchanged(room(), () => alice.fails('PUT', path(`/send/m.room.create/${nextTxn()}`), FORBIDDEN, { json: { room_version: version } }));
      await refusedAndUnchanged(room(), () =>
        bob.fails('PUT', path('/state/m.room.tombstone/'), FORBIDDEN, { json: { body: 'moved', replacement_room: '!elsewhere:strata.test' } }));
      await refusedAndUnchanged(room(), () =>
        alice.fails('PUT', path('/state/m.room.tombstone/'), BAD_JSON, { json: { body: 'loop', replacement_room: room() } }));
      await refusedAndUnchanged(room(), () => bob.fails('POST', path('/upgrade'), FORBIDDEN, { json: { new_version: '12' } }));
      await refusedAndUnchanged(room(), () =>
        bob.fails('PUT', path('/state/m.room.power_levels/'), FORBIDDEN, { json: { users: { [bob.userId]: 100 }, state_default: 0 } }));
      await refusedAndUnchanged(room(), () => bob.fails('PUT', path('/state/m.room.encryption/'), FORBIDDEN, { json: { algorithm: 'none' } }));
      await refusedAndUnchanged(room(), () => bob.fails('PUT', path('/state/m.room.encryption/x'), FORBIDDEN, { json: {} }));
      await refusedAndUnchanged(room(), () =>
        bob.fails('PUT', path('/state/m.room.history_visibility/'), FORBIDDEN, { json: { history_visibility: 'world_readable' } }));
      await refusedAndUnchanged(room(), () => bob.fails('PUT', path('/state/m.room.join_rules/'), FORBIDDEN, { json: { join_rule: 'invite' } }));
      // Bob may send ACLs here, yet not one that cuts this server (and so every local user) off.
      for (const acl of [{ allow: [] }, { allow: ['*'], deny: [server.serverName] }, { deny: ['*'] }]) {
        await refusedAndUnchanged(room(), () => bob.fails('PUT', path('/state/m.room.server_acl/'), { status: 400, errcode: 'M_INVALID_PARAM' }, { json: acl }));
      }
    });

    it('a canonical alias must point to this room, through /state and through /createRoom', async () => {
      const missing = `#nowhere-${version}:${server.serverName}`;
      await refusedAndUnchanged(room(), () =>
        bob.fails('PUT', path('/state/m.room.canonical_alias/'), { status: 400, errcode: 'M_BAD_ALIAS' }, { json: { alias: missing } }));
      await refusedAndUnchanged(room(), () =>
        bob.fails('PUT', path('/state/m.room.canonical_alias/'), { status: 400, errcode: 'M_BAD_ALIAS' }, { json: { alt_aliases: [missing] } }));
      const elsewhere = `#elsewhere-${version}:${server.serverName}`;
      await alice.put(`/directory/room/${e(elsewhere)}`, { room_id: rooms.get(version === '12' ? '10' : '12') });
      await refusedAndUnchanged(room(), () =>
        bob.fails('PUT', path('/state/m.room.canonical_alias/'), { status: 400, errcode: 'M_BAD_ALIAS' }, { json: { alias: elsewhere } }));
      const before = (await alice.get('/joined_rooms')).joined_rooms as string[];
      await alice.fails('POST', '/createRoom', { status: 400, errcode: 'M_BAD_ALIAS' }, {
        json: { room_version: version, initial_state: [{ type: 'm.room.canonical_alias', state_key: '', content: { alias: elsewhere } }] },
      });
      expect((await alice.get('/joined_rooms')).joined_rooms).toEqual(before);
    });
  });

  it('/createRoom cannot smuggle a second create event, another user’s membership or a self-denying ACL', async () => {
    const before = (await alice.get('/joined_rooms')).joined_rooms as string[];
    const invalid = { status: 400, errcode: 'M_INVALID_ROOM_STATE' };
    await alice.fails('POST', '/createRoom', invalid, { json: { initial_state: [{ type: 'm.room.create', state_key: '', content: {} }] } });
    await alice.fails('POST', '/createRoom', invalid, {
      json: { initial_state: [{ type: 'm.room.member', state_key: bob.userId, content: { membership: 'join' } }] },
    });
    await alice.fails('POST', '/createRoom', { status: 400, errcode: 'M_INVALID_PARAM' }, {
      json: { initial_state: [{ type: 'm.room.server_acl', state_key: '', content: { allow: ['elsewhere.example'] } }] },
    });
    await alice.fails('POST', '/createRoom', BAD_JSON, {
      json: { initial_state: [{ type: 'm.room.redaction', state_key: '', content: { redacts: targets.get('12') } }] },
    });
    // Rooms before v10 accept string power levels from others; this server writes integers only.
    await alice.fails('POST', '/createRoom', BAD_JSON, { json: { room_version: '9', power_level_content_override: { ban: '0' } } });
    expect((await alice.get('/joined_rooms')).joined_rooms).toEqual(before);
    const event = await alice.get(`/rooms/${e(rooms.get('12')!)}/event/${e(targets.get('12')!)}`);
    expect(event.content).toEqual({ msgtype: 'm.text', body: 'alice wrote this' });
  });

  it('a restricted room admits, through /join and through the state API alike, only members of an allowed room', async () => {
    const space = await alice.createRoom({ preset: 'private_chat', invite: [bob.userId] });
    await bob.post(`/join/${e(space)}`);
    const restricted = await alice.createRoom({
      preset: 'private_chat',
      initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: space }] } }],
    });
    const joinAs = (user: UserClient, content: Body) => user.request('PUT', `/rooms/${e(restricted)}/state/m.room.member/${e(user.userId)}`, { json: content });
    const before = await snapshot(restricted);
    await carol.fails('POST', `/join/${e(restricted)}`, FORBIDDEN);
    // Carol is in no allowed room: naming an authoriser herself must not get her in.
    expect((await joinAs(carol, { membership: 'join', join_authorised_via_users_server: alice.userId })).body).toMatchObject({ errcode: 'M_FORBIDDEN' });
    expect(await snapshot(restricted)).toEqual(before);
    // Bob is in the space; still, only a user of this server can be named as the authoriser.
    expect((await joinAs(bob, { membership: 'join', join_authorised_via_users_server: '@admin:elsewhere.example' })).body).toMatchObject({ errcode: 'M_FORBIDDEN' });
    expect(await snapshot(restricted)).toEqual(before);
    expect(await bob.post(`/join/${e(restricted)}`)).toEqual({ room_id: restricted });
  });

  it('the redactions the decider allows still apply: own events, and others’ with the redact power', async () => {
    const roomId = rooms.get('12')!;
    const bobs = await bob.send(roomId, 'bob wrote this');
    await bob.put(`/rooms/${e(roomId)}/redact/${e(bobs)}/${nextTxn()}`, {});
    expect((await alice.get(`/rooms/${e(roomId)}/event/${e(bobs)}`)).content).toEqual({});
    const carols = await carol.send(roomId, 'carol wrote this');
    await alice.put(`/rooms/${e(roomId)}/send/m.room.redaction/${nextTxn()}`, { redacts: carols });
    expect((await alice.get(`/rooms/${e(roomId)}/event/${e(carols)}`)).content).toEqual({});
  });
});
