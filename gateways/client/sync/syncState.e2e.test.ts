// /sync room state over HTTP against the whole server, both deployments: lazy-loaded members and
// their redundancy (client-server-api § Lazy-loading room members), `use_state_after`/`state_after`
// (since v1.16), incremental state deltas, left and banned rooms, and the request parameters
// `timeout`, `set_presence` and `full_state` (sync.yaml).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../../../test/harness/index.ts';

const members = (events: Body[] | undefined): string[] =>
  (events ?? []).filter((event) => event.type === 'm.room.member').map((event) => event.state_key as string).sort();
const types = (events: Body[] | undefined): string[] => (events ?? []).map((event) => event.type as string);

describe.each<ServerMode>(['embedded', 'distributed'])('/sync room state (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let room: string;
  const lazy = (extra: Body = {}): string =>
    JSON.stringify({ room: { timeline: { limit: 2 }, state: { lazy_load_members: true, ...extra } } });
  /** Syncs `who` from `since` until `roomId` shows `text` in its timeline. */
  const until = (who: UserClient, since: string, roomId: string, text: string, query: { filter?: string; use_state_after?: boolean } = {}): Promise<Body> => {
    const { filter, ...rest } = query;
    return who.syncUntil((response) => (response.rooms?.join?.[roomId]?.timeline?.events as Body[] | undefined)
      ?.some((event) => event.content?.body === text) === true, { since, query: rest, ...(filter === undefined ? {} : { filter }) });
  };

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => client.as(await client.register(name))));
    room = await alice.createRoom({ preset: 'public_chat', name: 'State' });
    await bob.post(`/join/${e(room)}`);
    await carol.post(`/join/${e(room)}`);
  });
  afterAll(() => server?.stop());

  it('does not resend lazy-loaded members to a device unless include_redundant_members is true', async () => {
    await carol.send(room, 'carol zero');
    await carol.send(room, 'carol first');
    const initial = await bob.sync({ filter: lazy() });
    expect(members(initial.rooms.join[room].state.events)).toEqual([bob.userId, carol.userId].sort());

    await carol.send(room, 'carol again');
    const again = await until(bob, initial.next_batch, room, 'carol again', { filter: lazy() });
    expect(members(again.rooms.join[room].state?.events)).toEqual([]);

    // Redundant members asked for: the timeline senders' member events every time (bob's own only
    // when the full state is sent, as Synapse).
    await carol.send(room, 'carol thrice');
    const redundant = await until(bob, again.next_batch, room, 'carol thrice', { filter: lazy({ include_redundant_members: true }) });
    expect(members(redundant.rooms.join[room].state.events)).toEqual([carol.userId]);

    // A member event that changed is new to the device: sent once more.
    await carol.put(`/profile/${e(carol.userId)}/displayname`, { displayname: 'Carol' });
    await carol.send(room, 'carol renamed');
    const renamed = await until(bob, redundant.next_batch, room, 'carol renamed', { filter: lazy({}) });
    const seen = [...(renamed.rooms.join[room].state.events as Body[]), ...(renamed.rooms.join[room].timeline.events as Body[])];
    expect(seen.find((event) => event.type === 'm.room.member' && event.state_key === carol.userId)?.content.displayname).toBe('Carol');

    // A sync without `since` starts the device over.
    const fresh = await bob.sync({ filter: lazy() });
    expect(members(fresh.rooms.join[room].state.events)).toContain(carol.userId);
  });

  it('answers state_after instead of state with use_state_after, up to the end of the timeline', async () => {
    const base = (await bob.sync()).next_batch as string;
    await alice.put(`/rooms/${e(room)}/state/m.room.topic`, { topic: 'in the timeline' });
    await alice.send(room, 'after topic');
    const after = await until(bob, base, room, 'after topic', { use_state_after: true });
    const joined = after.rooms.join[room];
    expect(joined.state).toBeUndefined();
    expect((joined.state_after.events as Body[]).map((event) => [event.type, event.content.topic])).toEqual([['m.room.topic', 'in the timeline']]);
    // Without it, the topic is in the timeline only: `state` covers the time before the timeline.
    const plain = await until(bob, base, room, 'after topic');
    expect(plain.rooms.join[room].state.events).toEqual([]);
    expect(plain.rooms.join[room].state_after).toBeUndefined();

    // A timeline of messages only: `state_after` is there, and empty.
    await alice.send(room, 'just words');
    const words = await until(bob, after.next_batch, room, 'just words', { use_state_after: true });
    expect(words.rooms.join[room].state_after).toEqual({ events: [] });

    // Limited: the gap's changes and the timeline's both, the newest of each key.
    const gapBase = words.next_batch as string;
    await alice.put(`/rooms/${e(room)}/state/m.room.name`, { name: 'In the gap' });
    for (let i = 0; i < 3; i++) await alice.send(room, `filler ${i}`);
    await alice.put(`/rooms/${e(room)}/state/m.room.topic`, { topic: 'at the end' });
    await alice.send(room, 'last');
    const filter = JSON.stringify({ room: { timeline: { limit: 2 } } });
    const limited = await until(bob, gapBase, room, 'last', { use_state_after: true, filter });
    expect(limited.rooms.join[room].timeline.limited).toBe(true);
    const stateAfter = limited.rooms.join[room].state_after.events as Body[];
    expect(stateAfter.map((event) => [event.type, event.content.name ?? event.content.topic]).sort())
      .toEqual([['m.room.name', 'In the gap'], ['m.room.topic', 'at the end']]);
    const gapOnly = await until(bob, gapBase, room, 'last', { filter });
    expect((gapOnly.rooms.join[room].state.events as Body[]).map((event) => event.type)).toEqual(['m.room.name']);

    // Initially: the whole state at the timeline's end, including the timeline's own state events.
    const initial = await bob.sync({ use_state_after: true, filter });
    expect(initial.rooms.join[room].state).toBeUndefined();
    const topic = (initial.rooms.join[room].state_after.events as Body[]).find((event) => event.type === 'm.room.topic');
    expect(topic?.content.topic).toBe('at the end');
    expect(types(initial.rooms.join[room].state_after.events)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.power_levels']));
    await bob.fails('GET', '/sync', { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { use_state_after: 'maybe' } });
  });

  it('shows a ban in the leave section, and left rooms initially only with include_leave', async () => {
    const dungeon = await alice.createRoom({ preset: 'public_chat', name: 'Dungeon' });
    await carol.post(`/join/${e(dungeon)}`);
    const base = (await carol.sync()).next_batch as string;
    await alice.post(`/rooms/${e(dungeon)}/ban`, { user_id: carol.userId, reason: 'test' });
    const banned = await carol.syncUntil((response) => response.rooms?.leave?.[dungeon] !== undefined, { since: base });
    const left = banned.rooms.leave[dungeon];
    expect((left.timeline.events as Body[]).at(-1)).toMatchObject({ type: 'm.room.member', state_key: carol.userId, content: { membership: 'ban' } });
    expect(banned.rooms.join?.[dungeon]).toBeUndefined();
    const stateAfter = await carol.sync({ since: base, use_state_after: true });
    expect(stateAfter.rooms.leave[dungeon].state_after).toEqual({ events: expect.any(Array) });
    expect(stateAfter.rooms.leave[dungeon].state).toBeUndefined();

    expect((await carol.sync()).rooms?.leave?.[dungeon]).toBeUndefined();
    const withLeave = await carol.sync({ filter: JSON.stringify({ room: { include_leave: true, timeline: { limit: 1 } } }) });
    expect((withLeave.rooms.leave[dungeon].timeline.events as Body[]).at(-1)?.content.membership).toBe('ban');
    expect(types(withLeave.rooms.leave[dungeon].state.events)).toContain('m.room.create');
  });

  it('includes m.room.create in invite and knock stripped state (required since v1.16)', async () => {
    const parlour = await alice.createRoom({ name: 'Parlour', invite: [bob.userId] });
    const invited = await bob.syncUntil((response) => response.rooms?.invite?.[parlour] !== undefined);
    const inviteState = invited.rooms.invite[parlour].invite_state.events as Body[];
    expect(types(inviteState)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.name', 'm.room.join_rules', 'm.room.member']));
    expect(inviteState.every((event) => Object.keys(event).sort().join() === 'content,sender,state_key,type')).toBe(true);

    const porch = await alice.createRoom({ initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }] });
    await carol.post(`/knock/${e(porch)}`);
    const knocked = await carol.syncUntil((response) => response.rooms?.knock?.[porch] !== undefined);
    expect(types(knocked.rooms.knock[porch].knock_state.events)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.join_rules', 'm.room.member']));
  });

  it('answers at once with timeout=0 or full_state, keeps presence with set_presence=offline, refuses a bad value', async () => {
    const base = (await alice.sync()).next_batch as string;
    let started = Date.now();
    const quiet = await alice.sync({ since: base, timeout: 0 });
    expect(quiet.next_batch).toBe(base);
    expect(Date.now() - started).toBeLessThan(2_000);
    started = Date.now();
    const full = await alice.sync({ since: base, timeout: 20_000, full_state: true });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(types(full.rooms.join[room].state.events)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.member']));

    await alice.put(`/presence/${e(alice.userId)}/status`, { presence: 'unavailable' });
    await alice.sync({ since: base, set_presence: 'offline' });
    expect((await alice.get(`/presence/${e(alice.userId)}/status`)).presence).toBe('unavailable');
    await alice.sync({ since: base });
    expect((await alice.get(`/presence/${e(alice.userId)}/status`)).presence).toBe('online');
    await alice.fails('GET', '/sync', { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { set_presence: 'away' } });

    // A new set_presence takes effect when the long-poll starts, not when it ends.
    const bobBase = (await bob.sync()).next_batch as string;
    const aliceQuiet = (await alice.sync({ since: base, timeout: 0 })).next_batch as string;
    const polling = alice.sync({ since: aliceQuiet, timeout: 15_000, set_presence: 'unavailable' });
    await bob.syncUntil((response) => (response.presence?.events as Body[] | undefined)
      ?.some((event) => event.sender === alice.userId && event.content.presence === 'unavailable') === true, { since: bobBase, timeoutMs: 8_000 });
    await polling;
  });

  it('still delivers to-device messages sent while a long-poll waits, once', async () => {
    const base = (await bob.sync()).next_batch as string;
    const quiet = await bob.sync({ since: base, timeout: 0 });
    const waiting = bob.sync({ since: quiet.next_batch, timeout: 20_000 });
    await alice.put('/sendToDevice/m.test/late', { messages: { [bob.userId]: { [bob.session.deviceId]: { late: true } } } });
    const woken = await waiting;
    expect(woken.to_device.events).toEqual([{ sender: alice.userId, type: 'm.test', content: { late: true } }]);
    expect((await bob.sync({ since: woken.next_batch })).to_device.events).toEqual([]);
  });
});
