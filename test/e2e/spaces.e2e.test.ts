// Spaces (GET /v1/rooms/{roomId}/hierarchy, space_hierarchy.yaml and client-server-api § Spaces),
// room previews (GET /rooms/{roomId}/initialSync, room_initial_sync.yaml) and, since v1.18
// (MSC4169), m.room.redaction sent through /send, over HTTP in both deployments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

const V1 = '/_matrix/client/v1';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ids = (response: Body): string[] => (response.rooms as Body[]).map((room) => room.room_id as string);

describe.each<ServerMode>(['embedded', 'distributed'])('spaces, previews and redaction via /send (%s)', (mode) => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  /** The tree alice builds: space → [sub (space) → [c, f], a, d, b], and a child `e` whose `via` is empty. */
  const r: Record<'space' | 'sub' | 'a' | 'b' | 'c' | 'd' | 'e' | 'f', string> = { space: '', sub: '', a: '', b: '', c: '', d: '', e: '', f: '' };
  const hierarchy = (user: UserClient, roomId: string, query: Record<string, string | number | boolean> = {}) =>
    user.get(`${V1}/rooms/${e(roomId)}/hierarchy`, query);
  const addChild = async (parent: string, child: string, content: Body) => {
    await alice.put(`/rooms/${e(parent)}/state/m.space.child/${e(child)}`, content);
    // Children without `order` are ordered by origin_server_ts: keep those distinct.
    await sleep(5);
  };

  beforeAll(async () => {
    server = await startTestServer({ mode });
    const client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
    const via = [server.serverName];
    r.space = await alice.createRoom({ preset: 'public_chat', name: 'Space', topic: 'all of it', creation_content: { type: 'm.space' } });
    r.sub = await alice.createRoom({ preset: 'public_chat', name: 'Sub', creation_content: { type: 'm.space' } });
    r.a = await alice.createRoom({
      preset: 'public_chat', name: 'A', initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    });
    r.b = await alice.createRoom({ preset: 'private_chat', name: 'B' });
    r.c = await alice.createRoom({
      preset: 'private_chat', name: 'C', initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }],
    });
    r.d = await alice.createRoom({
      preset: 'private_chat', name: 'D',
      initial_state: [{ type: 'm.room.join_rules', state_key: '', content: { join_rule: 'restricted', allow: [{ type: 'm.room_membership', room_id: r.space }] } }],
    });
    r.e = await alice.createRoom({ preset: 'public_chat', name: 'E' });
    r.f = await alice.createRoom({ preset: 'private_chat', name: 'F' });
    await addChild(r.space, r.d, { via });
    await addChild(r.space, r.b, { via });
    await addChild(r.space, r.a, { via, order: 'b' });
    await addChild(r.space, r.sub, { via, order: 'a', suggested: true });
    // "Child rooms can be removed from a space by omitting the `via` key": not a child any more.
    await addChild(r.space, r.e, { via: [] });
    await addChild(r.sub, r.f, { via });
    await addChild(r.sub, r.c, { via, suggested: true, order: '\x20' });
  });
  afterAll(() => server?.stop());

  it('walks the space depth first, children in the spec’s order, with stripped children_state', async () => {
    const all = await hierarchy(alice, r.space);
    expect(ids(all)).toEqual([r.space, r.sub, r.c, r.f, r.a, r.d, r.b]);
    expect(all.next_batch).toBeUndefined();
    const [space, sub, c, , a, d] = all.rooms as Body[];
    expect(space).toMatchObject({
      room_id: r.space, name: 'Space', topic: 'all of it', room_type: 'm.space', join_rule: 'public', world_readable: false,
      guest_can_join: false, num_joined_members: 1, room_version: '12',
    });
    // `order` first (by code point), then origin_server_ts; the child with an empty `via` is left out.
    expect((space!.children_state as Body[]).map((child) => child.state_key)).toEqual([r.sub, r.a, r.d, r.b]);
    expect((space!.children_state as Body[])[0]).toEqual({
      type: 'm.space.child', state_key: r.sub, sender: alice.userId, origin_server_ts: expect.any(Number),
      content: { via: [server.serverName], order: 'a', suggested: true },
    });
    expect((sub!.children_state as Body[]).map((child) => child.state_key)).toEqual([r.c, r.f]);
    // A room that is not a space has no children_state entries, but the key is required.
    expect(c).toMatchObject({ room_id: r.c, name: 'C', world_readable: true, join_rule: 'invite', children_state: [] });
    expect(c!.room_type).toBeUndefined();
    expect(a).toMatchObject({ name: 'A', encryption: 'm.megolm.v1.aes-sha2', join_rule: 'public' });
    expect(d).toMatchObject({ name: 'D', join_rule: 'restricted', allowed_room_ids: [r.space] });
  });

  it('shows a user only the rooms they may preview: public, world_readable, joined, or restricted and allowed', async () => {
    // bob is in no room: public and world_readable rooms only; invite-only B and F and restricted D are hidden.
    expect(ids(await hierarchy(bob, r.space))).toEqual([r.space, r.sub, r.c, r.a]);
    await bob.post(`/join/${e(r.space)}`);
    // Joined to the space, bob meets D's allow condition.
    expect(ids(await hierarchy(bob, r.space))).toEqual([r.space, r.sub, r.c, r.a, r.d]);
    // An invisible root is 403, as is a room that does not exist.
    await bob.fails('GET', `${V1}/rooms/${e(r.f)}/hierarchy`, { status: 403, errcode: 'M_FORBIDDEN' });
    await bob.fails('GET', `${V1}/rooms/${e(`!nosuch:${server.serverName}`)}/hierarchy`, { status: 403, errcode: 'M_FORBIDDEN' });
  });

  it('honours max_depth and suggested_only', async () => {
    expect(ids(await hierarchy(alice, r.space, { max_depth: 0 }))).toEqual([r.space]);
    const depth1 = await hierarchy(alice, r.space, { max_depth: 1 });
    expect(ids(depth1)).toEqual([r.space, r.sub, r.a, r.d, r.b]);
    // The children of a room at max_depth are still described, just not visited.
    expect(((depth1.rooms as Body[])[1]!.children_state as Body[]).length).toBe(2);
    expect(ids(await hierarchy(alice, r.space, { suggested_only: true }))).toEqual([r.space, r.sub, r.c]);
    expect(ids(await hierarchy(alice, r.sub))).toEqual([r.sub, r.c, r.f]);
  });

  it('paginates with next_batch and refuses changed parameters or bad values', async () => {
    const pages: string[][] = [];
    let from: string | undefined;
    do {
      const page = await hierarchy(alice, r.space, { limit: 2, ...(from === undefined ? {} : { from }) });
      pages.push(ids(page));
      from = page.next_batch as string | undefined;
    } while (from !== undefined && pages.length < 10);
    expect(pages).toEqual([[r.space, r.sub], [r.c, r.f], [r.a, r.d], [r.b]]);

    const first = await hierarchy(alice, r.space, { limit: 2, max_depth: 3 });
    const path = `${V1}/rooms/${e(r.space)}/hierarchy`;
    await alice.fails('GET', path, { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { from: first.next_batch as string, max_depth: 2 } });
    await alice.fails('GET', path, { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { from: first.next_batch as string, suggested_only: true } });
    expect(ids(await hierarchy(alice, r.space, { from: first.next_batch as string, max_depth: 3, limit: 2 }))).toEqual([r.c, r.f]);
    await alice.fails('GET', path, { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { from: 'not-a-token' } });
    await alice.fails('GET', path, { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { limit: 0 } });
    await alice.fails('GET', path, { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { max_depth: -1 } });
  });

  it('lets anyone peek into a world_readable room through initialSync, and members see their view', async () => {
    const open = await alice.createRoom({
      preset: 'public_chat', visibility: 'public', name: 'Open',
      initial_state: [{ type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } }],
    });
    const sent: string[] = [];
    for (let i = 0; i < 12; i += 1) sent.push(await alice.send(open, `message ${i}`));
    const carol = new MatrixClient(server.url).as(await new MatrixClient(server.url).register('carol'));
    const peek = await carol.get(`/rooms/${e(open)}/initialSync`);
    expect(peek).toMatchObject({ room_id: open, visibility: 'public' });
    // A peeker has no membership to tell (Synapse leaves it out).
    expect(peek.membership).toBeUndefined();
    // The latest 10 messages, oldest first.
    expect((peek.messages.chunk as Body[]).map((event) => event.event_id)).toEqual(sent.slice(2));
    expect((peek.state as Body[]).find((event) => event.type === 'm.room.name')?.content).toEqual({ name: 'Open' });
    // `start` continues backwards through /messages.
    const earlier = await carol.get(`/rooms/${e(open)}/messages`, { dir: 'b', from: peek.messages.start as string, limit: 2 });
    expect((earlier.chunk as Body[]).map((event) => event.event_id)).toEqual([sent[1], sent[0]]);

    const member = await alice.get(`/rooms/${e(open)}/initialSync`);
    expect(member).toMatchObject({ room_id: open, membership: 'join' });
    // "If the user has left the room this will be the messages that preceded them leaving" and the state then.
    const shared = await alice.createRoom({ preset: 'public_chat', name: 'Before' });
    await carol.post(`/join/${e(shared)}`);
    const seen = await alice.send(shared, 'seen');
    await carol.post(`/rooms/${e(shared)}/leave`);
    await alice.put(`/rooms/${e(shared)}/state/m.room.name`, { name: 'After' });
    const unseen = await alice.send(shared, 'unseen');
    const left = await carol.get(`/rooms/${e(shared)}/initialSync`);
    expect(left.membership).toBe('leave');
    const chunk = left.messages.chunk as Body[];
    expect(chunk.at(-2)?.event_id).toBe(seen);
    expect(chunk.at(-1)).toMatchObject({ type: 'm.room.member', state_key: carol.userId, content: { membership: 'leave' } });
    expect(chunk.map((event) => event.event_id)).not.toContain(unseen);
    expect((left.state as Body[]).find((event) => event.type === 'm.room.name')?.content).toEqual({ name: 'Before' });
    // A room that is not world_readable is closed to non-members.
    await carol.fails('GET', `/rooms/${e(r.b)}/initialSync`, { status: 403, errcode: 'M_FORBIDDEN' });

    // GET /events?room_id= (peeking_events.yaml) continues from initialSync's `end`.
    const quiet = await carol.get('/events', { room_id: open, from: peek.messages.end as string, timeout: 0 });
    expect(quiet).toEqual({ start: peek.messages.end, end: peek.messages.end, chunk: [] });
    const started = Date.now();
    const waiting = carol.get('/events', { room_id: open, from: peek.messages.end as string, timeout: 20_000 });
    await sleep(200);
    const later = await alice.send(open, 'while you peek');
    const woken = await waiting;
    expect(Date.now() - started).toBeLessThan(15_000);
    expect((woken.chunk as Body[]).map((event) => [event.event_id, event.content.body])).toEqual([[later, 'while you peek']]);
    expect(woken.start).toBe(peek.messages.end);
    expect((await carol.get('/events', { room_id: open, from: woken.end as string, timeout: 0 })).chunk).toEqual([]);
    await carol.fails('GET', '/events', { status: 403, errcode: 'M_FORBIDDEN' }, { query: { room_id: r.b, timeout: 0 } });
    // Without room_id it is the global event stream (gateways/client/sync/eventStream.e2e.test.ts), on /sync tokens.
    expect((await carol.get('/events', { timeout: 0 })).end).toMatch(/^s/);
  });

  it('accepts m.room.redaction through /send, with redacts placed for the room version', async () => {
    for (const version of ['10', '12']) {
      const room = await alice.createRoom({ preset: 'public_chat', room_version: version });
      await bob.post(`/join/${e(room)}`);
      const target = await alice.send(room, 'oops');
      await bob.fails('PUT', `/rooms/${e(room)}/send/m.room.redaction/by-bob`, { status: 403, errcode: 'M_FORBIDDEN' }, { json: { redacts: target } });
      await alice.fails('PUT', `/rooms/${e(room)}/send/m.room.redaction/bad`, { status: 400, errcode: 'M_BAD_JSON' }, { json: { reason: 'x' } });
      const path = `/rooms/${e(room)}/send/m.room.redaction/redact-1`;
      const { event_id: redaction } = await alice.put(path, { redacts: target, reason: 'typo' });
      // Same transaction id: the same event.
      expect((await alice.put(path, { redacts: target, reason: 'typo' })).event_id).toBe(redaction);
      const redacted = await alice.get(`/rooms/${e(room)}/event/${e(target)}`);
      expect(redacted.content).toEqual({});
      expect(redacted.unsigned.redacted_because.event_id).toBe(redaction);
      const event = await alice.get(`/rooms/${e(room)}/event/${e(redaction as string)}`);
      expect(event).toMatchObject({ type: 'm.room.redaction', redacts: target });
      // Before v11 `redacts` moves to the top level; since v11 it stays in content.
      expect(event.content).toEqual(version === '10' ? { reason: 'typo' } : { reason: 'typo', redacts: target });
    }
  });
});
