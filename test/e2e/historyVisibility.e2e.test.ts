// History visibility per event (client-server-api § Room History Visibility), over HTTP in both
// deployments: alice changes the room's visibility while bob is invited, joins, leaves and rejoins;
// /messages, /context, /event, /state, /members and /sync must show bob exactly the events the
// visibility and his membership at each event allow, and carol (never joined) only what is
// world_readable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MatrixClient, e, messageBodies, startTestServer, timelineOf,
  type Body, type ServerMode, type TestServer, type UserClient,
} from '../harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('history visibility per event (%s)', (mode) => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let roomId: string;
  /** Event ids by message body (and `hv:<value>` for the visibility changes). */
  const ids = new Map<string, string>();
  /** bob's /sync position while he had left, before the rest of the history. */
  let bobAway: string;
  const room = (rest = ''): string => `/rooms/${e(roomId)}${rest}`;
  const say = async (body: string): Promise<void> => { ids.set(body, await alice.send(roomId, body)); };
  const setVisibility = async (value: string): Promise<void> => {
    ids.set(`hv:${value}`, (await alice.put(room('/state/m.room.history_visibility'), { history_visibility: value })).event_id as string);
  };
  const id = (key: string): string => ids.get(key)!;
  /** Every event of the room bob may read, oldest first, paginating backwards `limit` at a time. */
  const paginateBack = async (user: UserClient, limit: number): Promise<Body[]> => {
    const events: Body[] = [];
    let from: string | undefined;
    for (let pages = 0; pages < 100; pages += 1) {
      const page = await user.get(room('/messages'), { dir: 'b', limit, ...(from === undefined ? {} : { from }) });
      const chunk = page.chunk as Body[];
      events.push(...chunk);
      if (page.end === undefined) return events.reverse();
      // A page that promises more is never empty: hidden events do not use up a page.
      expect(chunk.length).toBe(limit);
      from = page.end as string;
    }
    throw new Error('pagination did not end');
  };
  const idsOf = (events: readonly Body[]): string[] => events.map((event) => event.event_id as string);

  beforeAll(async () => {
    server = await startTestServer({ mode });
    const client = new MatrixClient(server.url);
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => client.as(await client.register(name))));
  });
  afterAll(() => server?.stop());

  it('builds the history: shared → joined → invited while bob is invited, joins and leaves', async () => {
    roomId = await alice.createRoom({ preset: 'public_chat', name: 'Visibility' });
    await say('s1');
    await setVisibility('joined');
    await say('j1');
    await setVisibility('invited');
    await say('i0');
    await alice.post(room('/invite'), { user_id: bob.userId });
    await say('i1');
    await bob.post(room('/join'));
    await say('i2');
    await bob.post(room('/leave'));
    bobAway = (await bob.sync()).next_batch as string;
    await say('x1');
    await alice.put(room('/state/m.room.topic'), { topic: 'after bob left' });
  });

  it('shows a departed user what was visible up to their leave, and nothing after it', async () => {
    const seen = await paginateBack(bob, 3);
    expect(messageBodies(seen)).toEqual(['s1', 'i1', 'i2']);
    // The change to `joined` was visible under the `shared` before it; the one to `invited` was not.
    expect(idsOf(seen)).toContain(id('hv:joined'));
    expect(idsOf(seen)).not.toContain(id('hv:invited'));
    const own = seen.filter((event) => event.type === 'm.room.member' && event.state_key === bob.userId);
    expect(own.map((event) => event.content.membership)).toEqual(['invite', 'join', 'leave']);

    expect(await bob.get(room(`/event/${e(id('i1'))}`))).toMatchObject({ event_id: id('i1'), content: { body: 'i1' } });
    for (const hidden of ['j1', 'i0', 'x1', 'hv:invited']) {
      await bob.fails('GET', room(`/event/${e(id(hidden))}`), { status: 404, errcode: 'M_NOT_FOUND' });
    }
  });

  it('answers /state and /members as of the leave', async () => {
    const state = await bob.get(room('/state')) as unknown as Body[];
    expect(state.find((event) => event.type === 'm.room.history_visibility')?.content).toEqual({ history_visibility: 'invited' });
    expect(state.find((event) => event.type === 'm.room.topic')).toBeUndefined();
    expect(state.find((event) => event.type === 'm.room.member' && event.state_key === bob.userId)?.content.membership).toBe('leave');
    const members = (await bob.get(room('/members'))).chunk as Body[];
    expect(members.find((event) => event.state_key === bob.userId)?.content.membership).toBe('leave');
    await bob.fails('GET', room('/state/m.room.topic'), { status: 404, errcode: 'M_NOT_FOUND' });
  });

  it('continues: joined again while bob is away, shared, bob rejoins, world_readable', async () => {
    await setVisibility('joined');
    await say('j2');
    await setVisibility('shared');
    await say('s2');
    await bob.post(room('/join'));
    await say('s3');
    await setVisibility('world_readable');
    await say('w1');
  });

  it('/messages judges each event by the visibility and membership at it, in both directions', async () => {
    const backwards = await paginateBack(bob, 2);
    expect(messageBodies(backwards)).toEqual(['s1', 'i1', 'i2', 's2', 's3', 'w1']);
    expect(idsOf(backwards)).toEqual(expect.arrayContaining([id('hv:shared'), id('hv:world_readable')]));
    // The change to `joined` while bob was away is hidden (he was not joined, before or after).
    expect(idsOf(backwards)).not.toContain(id('hv:joined'));

    const forwards: Body[] = [];
    let from: string | undefined = 't0';
    while (from !== undefined) {
      const page = await bob.get(room('/messages'), { dir: 'f', limit: 4, from });
      forwards.push(...(page.chunk as Body[]));
      from = page.end as string | undefined;
    }
    expect(idsOf(forwards)).toEqual(idsOf(backwards));
  });

  it('/context hides the events bob may not see around a visible one', async () => {
    const context = await bob.get(room(`/context/${e(id('i1'))}`), { limit: 6 });
    const around = [...(context.events_before as Body[]).reverse(), context.event as Body, ...(context.events_after as Body[])];
    expect(messageBodies(around)).toEqual(['s1', 'i1', 'i2']);
    for (const hidden of ['j1', 'i0', 'hv:invited']) expect(idsOf(around)).not.toContain(id(hidden));
    await bob.fails('GET', room(`/context/${e(id('j2'))}`), { status: 404, errcode: 'M_NOT_FOUND' });
  });

  it('lets a user who never joined read only the world_readable stretch', async () => {
    const seen = await paginateBack(carol, 5);
    expect(idsOf(seen)).toEqual([id('hv:world_readable'), id('w1')]);
    await carol.fails('GET', room(`/event/${e(id('s3'))}`), { status: 404, errcode: 'M_NOT_FOUND' });
    expect(await carol.get(room(`/event/${e(id('w1'))}`))).toMatchObject({ event_id: id('w1') });
  });

  it('/sync timelines hold only visible events, and `limited` counts only those', async () => {
    const visible = idsOf(await paginateBack(bob, 50));
    const all = await bob.sync({ filter: JSON.stringify({ room: { timeline: { limit: 200 } } }) });
    const timeline = all.rooms.join[roomId].timeline;
    expect(idsOf(timeline.events)).toEqual(visible);
    expect(timeline.limited).toBe(false);

    const exact = await bob.sync({ filter: JSON.stringify({ room: { timeline: { limit: visible.length } } }) });
    expect(exact.rooms.join[roomId].timeline.limited).toBe(false);
    const short = await bob.sync({ filter: JSON.stringify({ room: { timeline: { limit: 5 } } }) });
    expect(idsOf(short.rooms.join[roomId].timeline.events)).toEqual(visible.slice(-5));
    expect(short.rooms.join[roomId].timeline.limited).toBe(true);
  });

  it('an incremental /sync across the rejoin shows the room anew without the hidden events', async () => {
    const sync = await bob.sync({ since: bobAway, filter: JSON.stringify({ room: { timeline: { limit: 8 } } }) });
    const timeline = sync.rooms.join[roomId].timeline;
    const visible = idsOf(await paginateBack(bob, 50));
    expect(idsOf(timeline.events)).toEqual(visible.slice(-8));
    expect(messageBodies(timeline.events)).toEqual(['i2', 's2', 's3', 'w1']);
    expect(timeline.limited).toBe(true);
    for (const hidden of ['x1', 'j2', 'hv:joined']) expect(idsOf(timeline.events)).not.toContain(id(hidden));

    const next = await bob.sync({ since: sync.next_batch as string, timeout: 0 });
    await say('w2');
    const after = await bob.syncUntil((response) => timelineOf(response, roomId).length > 0, { since: next.next_batch as string });
    expect(messageBodies(timelineOf(after, roomId))).toEqual(['w2']);
    expect(after.rooms.join[roomId].timeline.limited).toBe(false);
  });
});
