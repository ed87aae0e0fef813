// The global event stream, GET /events without room_id (old_sync.yaml, deprecated; Synapse's
// EventStreamRestServlet), over HTTP in both deployments: its tokens are /initialSync's and /sync's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../../../test/harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('GET /events, the global event stream (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let room: string;

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => client.as(await client.register(name))));
    room = await alice.createRoom({ preset: 'public_chat', name: 'Stream' });
    await bob.post(`/join/${e(room)}`, {});
  });
  afterAll(() => server?.stop());

  /** Calls /events from `from` until the gathered chunks satisfy `until`; answers them and the last `end`. */
  const streamUntil = async (who: UserClient, from: string, until: (chunk: Body[]) => boolean): Promise<{ chunk: Body[]; end: string }> => {
    const deadline = Date.now() + 20_000;
    const chunk: Body[] = [];
    let end = from;
    while (!until(chunk)) {
      expect(Date.now()).toBeLessThan(deadline);
      const page = await who.get('/events', { from: end, timeout: 5_000 });
      expect(page.start).toBe(end);
      chunk.push(...(page.chunk as Body[]));
      end = page.end as string;
    }
    return { chunk, end };
  };
  const now = async (who: UserClient): Promise<string> => (await who.get('/events', { timeout: 0 })).end as string;

  it('starts now without from, refuses bad tokens and timeouts, and answers an empty chunk on timeout', async () => {
    const started = Date.now();
    const first = await alice.get('/events', { timeout: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(first.chunk).toEqual([]);
    expect(typeof first.start).toBe('string');
    expect(typeof first.end).toBe('string');
    const again = await alice.get('/events', { from: first.end as string, timeout: 0 });
    expect(again).toMatchObject({ chunk: [], start: first.end });
    // Without a timeout it answers at once, as /sync.
    const started2 = Date.now();
    expect((await alice.get('/events', { from: again.end as string })).chunk).toEqual([]);
    expect(Date.now() - started2).toBeLessThan(5_000);
    await alice.fails('GET', '/events', { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { from: 'garbage', timeout: 0 } });
    await alice.fails('GET', '/events', { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { timeout: 'soon' } });
    // A peeking room token is not a stream token.
    await alice.fails('GET', '/events', { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { from: 't1', timeout: 0 } });
    await client.fails('GET', '/_matrix/client/v3/events', { status: 401, errcode: 'M_MISSING_TOKEN' });
  });

  it('continues from /initialSync and wakes a long-poll with another user\'s message, in client format', async () => {
    const initial = await alice.get('/initialSync', { limit: 1 });
    const from = initial.end as string;
    const poll = alice.get('/events', { from, timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const eventId = await bob.send(room, 'hello stream');
    const page = await poll;
    let chunk = page.chunk as Body[];
    if (!chunk.some((event) => event.event_id === eventId)) chunk = [...chunk, ...(await streamUntil(alice, page.end as string, (c) => c.some((event) => event.event_id === eventId))).chunk];
    const message = chunk.find((event) => event.event_id === eventId)!;
    expect(message).toMatchObject({ type: 'm.room.message', room_id: room, sender: bob.userId, content: { body: 'hello stream' } });
    expect(typeof message.origin_server_ts).toBe('number');
    // The same token works for /sync: the stream and /sync count positions alike.
    const synced = await alice.sync({ since: from, timeout: 0 });
    expect((synced.rooms.join[room].timeline.events as Body[]).some((event) => event.event_id === eventId)).toBe(true);
  });

  it('carries typing, receipts and account data (global, and per room with room_id)', async () => {
    const from = await now(alice);
    const eventId = await bob.send(room, 'read me');
    await bob.put(`/rooms/${e(room)}/typing/${e(bob.userId)}`, { typing: true, timeout: 30_000 });
    await bob.post(`/rooms/${e(room)}/receipt/m.read/${e(eventId)}`, {});
    await alice.put(`/user/${e(alice.userId)}/account_data/org.example.config`, { theme: 'dark' });
    await alice.put(`/user/${e(alice.userId)}/rooms/${e(room)}/tags/u.work`, { order: 0.5 });
    const { chunk } = await streamUntil(alice, from, (c) => ['m.typing', 'm.receipt', 'org.example.config', 'm.tag'].every((type) => c.some((event) => event.type === type)));
    expect(chunk.find((event) => event.type === 'm.typing')).toEqual({ type: 'm.typing', room_id: room, content: { user_ids: [bob.userId] } });
    const receipt = chunk.find((event) => event.type === 'm.receipt')!;
    expect(receipt.room_id).toBe(room);
    expect(receipt.content[eventId]['m.read'][bob.userId].ts).toEqual(expect.any(Number));
    expect(chunk.find((event) => event.type === 'org.example.config')).toEqual({ type: 'org.example.config', content: { theme: 'dark' } });
    expect(chunk.find((event) => event.type === 'm.tag')).toEqual({ type: 'm.tag', room_id: room, content: { tags: { 'u.work': { order: 0.5 } } } });
    // Nothing about rooms alice is not in, and no default push rules replayed.
    expect(chunk.some((event) => event.type === 'm.push_rules')).toBe(false);
    await bob.put(`/rooms/${e(room)}/typing/${e(bob.userId)}`, { typing: false });
  });

  it('shows invites, and the presence of members as they start sharing a room', async () => {
    const from = await now(alice);
    await carol.put(`/presence/${e(carol.userId)}/status`, { presence: 'online', status_msg: 'new here' });
    const other = await carol.createRoom({ preset: 'private_chat' });
    await carol.post(`/rooms/${e(other)}/invite`, { user_id: alice.userId });
    const { chunk: invited, end } = await streamUntil(alice, from, (c) => c.some((event) => event.type === 'm.room.member' && event.room_id === other));
    const invite = invited.find((event) => event.type === 'm.room.member' && event.room_id === other)!;
    expect(invite).toMatchObject({ state_key: alice.userId, sender: carol.userId, content: { membership: 'invite' } });
    // Events of the room alice is only invited to stay hidden.
    expect(invited.filter((event) => event.room_id === other)).toHaveLength(1);
    // Carol joins alice's room: her join comes with her presence, which alice had no reason to see before.
    await carol.post(`/join/${e(room)}`, {});
    const { chunk } = await streamUntil(alice, end, (c) => c.some((event) => event.type === 'm.presence' && event.content.user_id === carol.userId));
    expect(chunk.some((event) => event.type === 'm.room.member' && event.state_key === carol.userId && event.content.membership === 'join')).toBe(true);
    expect(chunk.find((event) => event.type === 'm.presence' && event.content.user_id === carol.userId)).toMatchObject({
      sender: carol.userId, content: { presence: 'online', status_msg: 'new here' },
    });
  });

  it('pages a long gap, and leaves to-device messages for a /sync from its end', async () => {
    const from = await now(alice);
    await bob.put(`/sendToDevice/org.example.ping/ping-${mode}`, { messages: { [alice.userId]: { '*': { n: 1 } } } });
    const sent: string[] = [];
    for (let i = 0; i < 105; i++) sent.push(await bob.send(room, `m${i}`, `page-${i}`));
    const first = await alice.get('/events', { from, timeout: 0 });
    const firstIds = (first.chunk as Body[]).filter((event) => event.type === 'm.room.message').map((event) => event.event_id);
    expect(firstIds.length).toBeLessThanOrEqual(100);
    const rest = await streamUntil(alice, first.end as string, (c) => c.some((event) => event.event_id === sent.at(-1)));
    const restIds = rest.chunk.filter((event) => event.type === 'm.room.message').map((event) => event.event_id);
    expect([...firstIds, ...restIds]).toEqual(sent);
    const synced = await alice.sync({ since: rest.end, timeout: 0 });
    expect((synced.to_device.events as Body[]).some((event) => event.type === 'org.example.ping' && event.sender === bob.userId)).toBe(true);
  });

  it('keeps messages and invites of ignored users out, as /sync does', async () => {
    await alice.put(`/user/${e(alice.userId)}/account_data/m.ignored_user_list`, { ignored_users: { [carol.userId]: {} } });
    const from = await now(alice);
    const hidden = await carol.send(room, 'you will not see this');
    const elsewhere = await carol.createRoom({ preset: 'private_chat' });
    await carol.post(`/rooms/${e(elsewhere)}/invite`, { user_id: alice.userId });
    const marker = await bob.send(room, 'after the ignored ones');
    const { chunk } = await streamUntil(alice, from, (c) => c.some((event) => event.event_id === marker));
    expect(chunk.some((event) => event.event_id === hidden)).toBe(false);
    expect(chunk.some((event) => event.room_id === elsewhere)).toBe(false);
    await alice.put(`/user/${e(alice.userId)}/account_data/m.ignored_user_list`, { ignored_users: {} });
  });
});
