// /sync corner cases over HTTP, both deployments (client-server-api § Syncing, sync.yaml): rooms
// joined since `since` (limited timelines per history visibility, prev_batch, the joiner's own
// membership), lazy-loaded members in incremental and gapped syncs, filter validation and
// `limit: 0`, `event_format: federation`, and the presence of members the user starts sharing a
// room with.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../../../test/harness/index.ts';

const ids = (events: Body[] | undefined): string[] => (events ?? []).map((event) => event.event_id as string);
const members = (events: Body[] | undefined): string[] =>
  (events ?? []).filter((event) => event.type === 'm.room.member').map((event) => event.state_key as string).sort();
const bodies = (events: Body[] | undefined): string[] =>
  (events ?? []).filter((event) => event.type === 'm.room.message').map((event) => event.content.body as string);

describe.each<ServerMode>(['embedded', 'distributed'])('/sync corners (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let dave: UserClient;

  /** Syncs `who` from `since` until `roomId` is in the join section with `text` in its timeline. */
  const until = (who: UserClient, since: string, roomId: string, text: string, filter?: string): Promise<Body> =>
    who.syncUntil((response) => (response.rooms?.join?.[roomId]?.timeline?.events as Body[] | undefined)
      ?.some((event) => event.content?.body === text) === true, { since, ...(filter === undefined ? {} : { filter }) });
  const timelineFilter = (timeline: Body, state: Body = {}): string => JSON.stringify({ room: { timeline, state } });
  /** Every event of the room the user may see, oldest first, through /messages from the end. */
  const history = async (who: UserClient, roomId: string, from?: string): Promise<string[]> => {
    const chunk = await who.get(`/rooms/${e(roomId)}/messages`, { dir: 'b', limit: 1000, ...(from === undefined ? {} : { from }) });
    return ids(chunk.chunk as Body[]).reverse();
  };

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map(async (name) => client.as(await client.register(name))));
  });
  afterAll(() => server?.stop());

  it('limits a newly joined room by what history visibility shows, and prev_batch pages back to exactly the events before', async () => {
    const shared = await alice.createRoom({ preset: 'public_chat', name: 'Shared' });
    for (let i = 0; i < 4; i++) await alice.send(shared, `before ${i}`);
    const base = (await bob.sync()).next_batch as string;
    await bob.post(`/join/${e(shared)}`);
    await alice.send(shared, 'after join');

    const joined = await until(bob, base, shared, 'after join', timelineFilter({ limit: 3 }));
    const room = joined.rooms.join[shared];
    expect(room.timeline.limited).toBe(true);
    expect(room.timeline.events).toHaveLength(3);
    // The whole visible history is the pages before prev_batch followed by the timeline, no overlap.
    const before = await history(bob, shared, room.timeline.prev_batch as string);
    expect([...before, ...ids(room.timeline.events)]).toEqual(await history(bob, shared));
    expect(bodies(room.timeline.events)).toEqual(['before 3', 'after join']);

    // `joined` visibility: the messages before the join are hidden (the preset's state events and the
    // change to `joined` stay visible, judged by the visibility they replace). The whole visible
    // history fits the limit: not limited, and nothing before prev_batch.
    const membersOnly = await alice.createRoom({
      preset: 'public_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'joined' } }],
    });
    for (let i = 0; i < 4; i++) await alice.send(membersOnly, `secret ${i}`);
    const base2 = (await bob.sync()).next_batch as string;
    await bob.post(`/join/${e(membersOnly)}`);
    await alice.send(membersOnly, 'welcome');
    const fresh = await until(bob, base2, membersOnly, 'welcome', timelineFilter({ limit: 50 }));
    const visible = fresh.rooms.join[membersOnly];
    expect(visible.timeline.limited).toBe(false);
    expect(bodies(visible.timeline.events)).toEqual(['welcome']);
    expect(ids(visible.timeline.events)).toEqual(await history(bob, membersOnly));
    expect((await bob.get(`/rooms/${e(membersOnly)}/messages`, { dir: 'b', from: visible.timeline.prev_batch })).chunk).toEqual([]);
    // Limited by the visible events alone, and paging back from prev_batch finds exactly the rest.
    const cut = await until(bob, base2, membersOnly, 'welcome', timelineFilter({ limit: 2 }));
    const limited = cut.rooms.join[membersOnly].timeline;
    expect(limited.limited).toBe(true);
    expect(limited.events.map((event: Body) => [event.type, event.state_key ?? event.content.body]))
      .toEqual([['m.room.member', bob.userId], ['m.room.message', 'welcome']]);
    const rest = await history(bob, membersOnly, limited.prev_batch as string);
    expect([...rest, ...ids(limited.events)]).toEqual(await history(bob, membersOnly));

    // `invited` visibility: visible from the invite on, so the messages between invite and join
    // count; the whole room history does not.
    const invitedOnly = await alice.createRoom({
      preset: 'private_chat', initial_state: [{ type: 'm.room.history_visibility', content: { history_visibility: 'invited' } }],
    });
    await alice.send(invitedOnly, 'before the invite');
    const base3 = (await bob.sync()).next_batch as string;
    await alice.post(`/rooms/${e(invitedOnly)}/invite`, { user_id: bob.userId });
    await alice.send(invitedOnly, 'while invited');
    await bob.post(`/join/${e(invitedOnly)}`);
    await alice.send(invitedOnly, 'joined');
    const whole = (await until(bob, base3, invitedOnly, 'joined', timelineFilter({ limit: 50 }))).rooms.join[invitedOnly].timeline;
    expect(whole.limited).toBe(false);
    expect(bodies(whole.events)).toEqual(['while invited', 'joined']);
    const page = (await until(bob, base3, invitedOnly, 'joined', timelineFilter({ limit: 2 }))).rooms.join[invitedOnly].timeline;
    expect(page.limited).toBe(true);
    expect(page.events.map((event: Body) => event.type)).toEqual(['m.room.member', 'm.room.message']);
    expect([...await history(bob, invitedOnly, page.prev_batch as string), ...ids(page.events)]).toEqual(await history(bob, invitedOnly));
    expect(bodies((await bob.get(`/rooms/${e(invitedOnly)}/messages`, { dir: 'b', from: page.prev_batch, limit: 50 })).chunk as Body[]))
      .toEqual(['while invited']);

    // Rejoined under `joined` visibility: what was said while away stays hidden from the timeline and
    // from the pages before it, what was seen before leaving is there.
    await bob.send(membersOnly, 'bob was here');
    await bob.post(`/rooms/${e(membersOnly)}/leave`);
    await alice.send(membersOnly, 'while bob was away');
    const base4 = (await bob.sync()).next_batch as string;
    await bob.post(`/join/${e(membersOnly)}`);
    await alice.send(membersOnly, 'welcome back');
    const back = (await until(bob, base4, membersOnly, 'welcome back', timelineFilter({ limit: 3 }))).rooms.join[membersOnly].timeline;
    expect(back.limited).toBe(true);
    expect(back.events.map((event: Body) => event.content.membership ?? event.content.body)).toEqual(['leave', 'join', 'welcome back']);
    const earlier = await bob.get(`/rooms/${e(membersOnly)}/messages`, { dir: 'b', from: back.prev_batch, limit: 50 });
    expect(bodies(earlier.chunk as Body[])).toEqual(['bob was here', 'welcome']);
    expect([...await history(bob, membersOnly, back.prev_batch as string), ...ids(back.events)]).toEqual(await history(bob, membersOnly));
  });

  it("always shows the joiner's own membership in a newly joined room, in state or timeline", async () => {
    const busy = await alice.createRoom({ preset: 'public_chat' });
    await alice.send(busy, 'early');
    const base = (await carol.sync()).next_batch as string;
    await carol.post(`/join/${e(busy)}`);
    for (let i = 0; i < 4; i++) await alice.send(busy, `later ${i}`);
    const own = (body: Body): Body | undefined => [...(body.state?.events ?? []), ...(body.timeline?.events ?? [])]
      .find((event: Body) => event.type === 'm.room.member' && event.state_key === carol.userId);

    for (const filter of [
      timelineFilter({ limit: 2 }),
      timelineFilter({ limit: 2 }, { lazy_load_members: true }),
      // The timeline shows messages only and starts before the join: the join is in neither window.
      timelineFilter({ limit: 5, types: ['m.room.message'] }),
      timelineFilter({ limit: 5, types: ['m.room.message'] }, { lazy_load_members: true }),
      timelineFilter({ limit: 0 }),
    ]) {
      const joined = await carol.syncUntil((response) => response.rooms?.join?.[busy] !== undefined, { since: base, filter });
      expect({ filter, membership: own(joined.rooms.join[busy])?.content.membership }).toEqual({ filter, membership: 'join' });
    }
  });

  it('lazy-loads the members of timeline senders in incremental and gapped syncs, once per device', async () => {
    const lounge = await alice.createRoom({ preset: 'public_chat' });
    for (const who of [bob, carol, dave]) await who.post(`/join/${e(lounge)}`);
    await alice.send(lounge, 'ready');
    const lazy = (extra: Body = {}): string => timelineFilter({ limit: 2 }, { lazy_load_members: true, ...extra });
    const initial = await alice.sync({ filter: lazy() });
    // The timeline is dave's join and alice's message: their members, nobody else's.
    expect(members(initial.rooms.join[lounge].state.events)).toEqual([alice.userId]);

    // Incremental, not limited: the sender's membership though it did not change.
    await bob.send(lounge, 'bob speaks');
    const spoken = await until(alice, initial.next_batch as string, lounge, 'bob speaks', lazy());
    expect(spoken.rooms.join[lounge].timeline.limited).toBe(false);
    expect(members(spoken.rooms.join[lounge].state.events)).toEqual([bob.userId]);

    // Gapped: carol's member event is before the gap, dave changes his name in the gap and stays
    // silent (not a timeline sender: left out), bob was sent already (left out).
    await dave.put(`/profile/${e(dave.userId)}/displayname`, { displayname: 'Dave in the gap' });
    for (let i = 0; i < 3; i++) await alice.send(lounge, `filler ${i}`);
    await carol.send(lounge, 'carol speaks');
    await bob.send(lounge, 'bob again');
    const gapped = await until(alice, spoken.next_batch as string, lounge, 'bob again', lazy());
    expect(gapped.rooms.join[lounge].timeline.limited).toBe(true);
    // prev_batch pages back into the gap from the event before the timeline.
    const gap = await alice.get(`/rooms/${e(lounge)}/messages`, { dir: 'b', from: gapped.rooms.join[lounge].timeline.prev_batch, limit: 3 });
    expect(bodies(gap.chunk as Body[])).toEqual(['filler 2', 'filler 1', 'filler 0']);
    expect(members(gapped.rooms.join[lounge].state.events)).toEqual([carol.userId]);

    // After the gap: nobody is sent twice; with include_redundant_members everyone is.
    await carol.send(lounge, 'carol after the gap');
    const after = await until(alice, gapped.next_batch as string, lounge, 'carol after the gap', lazy());
    expect(after.rooms.join[lounge].timeline.limited).toBe(false);
    expect(members(after.rooms.join[lounge].state.events)).toEqual([]);
    await bob.send(lounge, 'redundant');
    const redundant = await until(alice, after.next_batch as string, lounge, 'redundant', lazy({ include_redundant_members: true }));
    expect(members(redundant.rooms.join[lounge].state.events)).toEqual([bob.userId]);
    // What one device was sent says nothing of another: alice's second device is sent them anew.
    const laptop = client.as(await client.login('alice'));
    const laptopBase = (await laptop.sync({ filter: timelineFilter({ limit: 1 }, { lazy_load_members: true }) })).next_batch as string;
    await carol.send(lounge, 'carol to the laptop');
    const onLaptop = await until(laptop, laptopBase, lounge, 'carol to the laptop', lazy());
    expect(members(onLaptop.rooms.join[lounge].state.events)).toEqual([carol.userId]);

    // A sender whose membership changes in the timeline: the new member event is in the timeline, the
    // one before it (never sent: dave was silent through the gap) in state, and neither again afterwards.
    await dave.put(`/profile/${e(dave.userId)}/displayname`, { displayname: 'Dave renamed' });
    await dave.send(lounge, 'dave speaks');
    const renamed = await until(alice, redundant.next_batch as string, lounge, 'dave speaks', lazy());
    const timeline = renamed.rooms.join[lounge].timeline.events as Body[];
    expect(timeline.find((event) => event.type === 'm.room.member')?.content.displayname).toBe('Dave renamed');
    expect((renamed.rooms.join[lounge].state.events as Body[]).map((event) => event.content.displayname)).toEqual(['Dave in the gap']);
    await dave.send(lounge, 'dave again');
    const again = await until(alice, renamed.next_batch as string, lounge, 'dave again', lazy());
    expect(members(again.rooms.join[lounge].state.events)).toEqual([]);

    // A member who joins in the gap and speaks: the join shows up in state.
    const eve = client.as(await client.register('eve'));
    const base = again.next_batch as string;
    await eve.post(`/join/${e(lounge)}`);
    for (let i = 0; i < 3; i++) await alice.send(lounge, `gap ${i}`);
    await eve.send(lounge, 'eve speaks');
    const joinedInGap = await until(alice, base, lounge, 'eve speaks', lazy());
    const eveMember = (joinedInGap.rooms.join[lounge].state.events as Body[]).find((event) => event.state_key === eve.userId);
    expect(eveMember?.content.membership).toBe('join');

    // A member who joins and speaks within the timeline: the join itself introduces them, no state.
    const fay = client.as(await client.register('fay'));
    await fay.post(`/join/${e(lounge)}`);
    await fay.send(lounge, 'fay speaks');
    const joinedInTimeline = await until(alice, joinedInGap.next_batch as string, lounge, 'fay speaks', lazy());
    expect(members(joinedInTimeline.rooms.join[lounge].timeline.events)).toEqual([fay.userId]);
    expect(members(joinedInTimeline.rooms.join[lounge].state.events)).toEqual([]);
  });

  it('refuses invalid filters inline and on upload, allows unknown fields, and honours limit 0', async () => {
    const bad: Body[] = [
      { room: { timeline: { limit: -1 } } }, { room: { timeline: { limit: 1.5 } } }, { room: { timeline: { limit: '5' } } },
      { presence: { limit: -3 } }, { event_format: 'matrix' }, { event_format: 1 }, { room: { state: { lazy_load_members: 'yes' } } },
      { room: { rooms: 'not a list' } }, { room: { timeline: { senders: ['not a user id'] } } }, { room: { not_rooms: ['#alias:x'] } },
      { event_fields: [1] }, { room: { timeline: [] } },
    ];
    for (const filter of bad) {
      await alice.fails('GET', '/sync', { status: 400, errcode: 'M_BAD_JSON' }, { query: { filter: JSON.stringify(filter) } });
      await alice.fails('POST', `/user/${e(alice.userId)}/filter`, { status: 400, errcode: 'M_BAD_JSON' }, { json: filter });
    }
    await alice.fails('GET', '/sync', { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { filter: '424242' } });
    await alice.fails('GET', '/sync', { status: 400, errcode: 'M_NOT_JSON' }, { query: { filter: '{not json' } });
    const unknown = { room: { timeline: { limit: 3, 'org.example.future': true } }, 'org.example.top': { any: 1 } };
    const { filter_id: filterId } = await alice.post(`/user/${e(alice.userId)}/filter`, unknown);
    expect(await alice.get(`/user/${e(alice.userId)}/filter/${e(filterId as string)}`)).toEqual(unknown);
    expect((await alice.sync({ filter: JSON.stringify(unknown) })).next_batch).toEqual(expect.any(String));

    const quiet = await alice.createRoom({ preset: 'public_chat' });
    await alice.send(quiet, 'hidden by limit 0');
    const zero = JSON.stringify({ room: { timeline: { limit: 0 } } });
    const { filter_id: zeroId } = await alice.post(`/user/${e(alice.userId)}/filter`, JSON.parse(zero));
    for (const filter of [zero, zeroId as string]) {
      const room = (await alice.sync({ filter })).rooms.join[quiet];
      expect(room.timeline.events).toEqual([]);
      expect(room.timeline.limited).toBe(true);
      expect(await history(alice, quiet, room.timeline.prev_batch as string)).toEqual(await history(alice, quiet));
      expect(members(room.state.events)).toContain(alice.userId);
    }
    // Incrementally: a room with new events is limited with none shown, its state delta sent.
    const since = (await alice.sync({ filter: zero })).next_batch as string;
    await alice.put(`/rooms/${e(quiet)}/state/m.room.topic`, { topic: 'while at zero' });
    await alice.send(quiet, 'also hidden');
    const delta = await alice.syncUntil((response) => response.rooms?.join?.[quiet] !== undefined, { since, filter: zero });
    const changedRoom = delta.rooms.join[quiet];
    expect(changedRoom.timeline).toMatchObject({ events: [], limited: true, prev_batch: expect.any(String) });
    expect((changedRoom.state.events as Body[]).map((event) => event.content.topic)).toEqual(['while at zero']);
    expect(bodies((await alice.get(`/rooms/${e(quiet)}/messages`, { dir: 'b', from: changedRoom.timeline.prev_batch, limit: 1 })).chunk as Body[]))
      .toEqual(['also hidden']);
  });

  it('answers event_format federation with PDUs in timeline and state', async () => {
    const pdus = await alice.createRoom({ preset: 'public_chat', room_version: '11' });
    const txn = `fed-${Math.random()}`;
    const sent = (await alice.put(`/rooms/${e(pdus)}/send/m.room.message/${txn}`, { msgtype: 'm.text', body: 'as a pdu' })).event_id as string;
    await alice.put(`/rooms/${e(pdus)}/state/m.room.topic`, { topic: 'first' });
    await alice.put(`/rooms/${e(pdus)}/state/m.room.topic`, { topic: 'second' });
    const filter = JSON.stringify({ event_format: 'federation', room: { timeline: { limit: 3 } } });
    const room = (await alice.sync({ filter })).rooms.join[pdus];
    const message = (room.timeline.events as Body[]).find((event) => event.event_id === sent)!;
    expect(message).toMatchObject({
      room_id: pdus, sender: alice.userId, type: 'm.room.message', depth: expect.any(Number), origin_server_ts: expect.any(Number),
      auth_events: expect.any(Array), prev_events: expect.any(Array), hashes: { sha256: expect.any(String) },
      signatures: { [server.serverName]: expect.any(Object) }, content: { body: 'as a pdu' },
    });
    expect(message.unsigned).toMatchObject({ age: expect.any(Number), transaction_id: txn });
    const topic = (room.timeline.events as Body[]).find((event) => event.content.topic === 'second')!;
    expect(topic.unsigned).toMatchObject({ prev_content: { topic: 'first' }, replaces_state: expect.any(String) });
    const create = (room.state.events as Body[]).find((event) => event.type === 'm.room.create')!;
    expect(create).toMatchObject({ room_id: pdus, auth_events: [], prev_events: [], depth: 1, hashes: expect.any(Object) });
    // Other devices do not see the transaction id.
    const other = client.as(await client.login('alice'));
    const seen = ((await other.sync({ filter })).rooms.join[pdus].timeline.events as Body[]).find((event) => event.event_id === sent)!;
    expect(seen.unsigned.transaction_id).toBeUndefined();

    // A redacted event: the redacted PDU, and the redaction in the same format.
    await alice.put(`/rooms/${e(pdus)}/redact/${e(sent)}/redaction-${Math.random()}`, { reason: 'gone' });
    const redacted = ((await alice.sync({ filter: JSON.stringify({ event_format: 'federation', room: { timeline: { limit: 10 } } }) }))
      .rooms.join[pdus].timeline.events as Body[]).find((event) => event.event_id === sent)!;
    expect(redacted.content).toEqual({});
    expect(redacted.hashes).toEqual(expect.any(Object));
    expect(redacted.unsigned.redacted_because).toMatchObject({
      type: 'm.room.redaction', content: { redacts: sent, reason: 'gone' }, event_id: expect.any(String), auth_events: expect.any(Array), depth: expect.any(Number),
    });
  });

  it('sends the current presence of users the user starts sharing a room with', async () => {
    await dave.put(`/presence/${e(dave.userId)}/status`, { presence: 'unavailable', status_msg: 'away for now' });
    const fresh = client.as(await client.register('frank'));
    const base = (await fresh.sync()).next_batch as string;
    const hideout = await dave.createRoom({ preset: 'public_chat' });
    // frank joins dave's room: dave's presence, unchanged since `base`, comes with it.
    await fresh.post(`/join/${e(hideout)}`);
    const joined = await fresh.syncUntil((response) => response.rooms?.join?.[hideout] !== undefined, { since: base });
    const presence = (joined.presence.events as Body[]).find((event) => event.sender === dave.userId);
    expect(presence?.content).toMatchObject({ presence: 'unavailable', status_msg: 'away for now' });

    // dave's side: a newcomer to a room of his brings its presence too.
    const gina = client.as(await client.register('gina'));
    await gina.put(`/presence/${e(gina.userId)}/status`, { presence: 'online', status_msg: 'hello' });
    const daveBase = (await dave.sync()).next_batch as string;
    await gina.post(`/join/${e(hideout)}`);
    const seen = await dave.syncUntil((response) => (response.presence?.events as Body[] | undefined)
      ?.some((event) => event.sender === gina.userId) === true, { since: daveBase });
    expect((seen.presence.events as Body[]).find((event) => event.sender === gina.userId)?.content.status_msg).toBe('hello');
    // Once: the next sync does not repeat it; the presence filter applies to it.
    const next = await dave.sync({ since: seen.next_batch, timeout: 0 });
    expect(((next.presence?.events ?? []) as Body[]).filter((event) => event.sender === gina.userId)).toEqual([]);
    const filtered = await dave.sync({ since: daveBase, filter: JSON.stringify({ presence: { not_senders: [gina.userId] } }) });
    expect(filtered.rooms.join[hideout]).toBeDefined();
    expect((filtered.presence.events as Body[]).filter((event) => event.sender === gina.userId)).toEqual([]);

    // Someone who never set presence nor synced is offline (Synapse's default state).
    const hank = client.as(await client.register('hank'));
    const beforeHank = (await dave.sync()).next_batch as string;
    await hank.post(`/join/${e(hideout)}`);
    const hankSeen = await dave.syncUntil((response) => (response.presence?.events as Body[] | undefined)
      ?.some((event) => event.sender === hank.userId) === true, { since: beforeHank });
    expect((hankSeen.presence.events as Body[]).find((event) => event.sender === hank.userId)?.content).toEqual({ presence: 'offline' });
  });
});
