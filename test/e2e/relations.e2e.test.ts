// Relations, threads, bundled aggregations and /timestamp_to_event over HTTP against the whole
// server (infra/strata.ts). Expectations come from the spec (v1.19: relations.yaml,
// threads_list.yaml, room_event_by_timestamp.yaml, client-server-api § Relationships / Threading).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

const V1 = '/_matrix/client/v1';

describe.each<ServerMode>(['embedded', 'distributed'])('relations and threads (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let dave: UserClient;
  let room: string;
  /** alice's thread root, with a thread, edits, a reaction and a reference. */
  let root: string;
  let reply1: string;
  let reply2: string;
  let edit1: string;
  let edit2: string;
  let foreignEdit: string;
  let reaction: string;
  let reference: string;
  let replyReaction: string;
  let replyEdit: string;
  /** A second thread root with a more recent reply. */
  let root2: string;
  let startTs: number;
  let txn = 0;

  const send = async (who: UserClient, roomId: string, content: Body, type = 'm.room.message'): Promise<string> =>
    (await who.put(`/rooms/${e(roomId)}/send/${type}/t${++txn}`, content)).event_id as string;
  const threadReply = (who: UserClient, parent: string, body: string) =>
    send(who, room, { msgtype: 'm.text', body, 'm.relates_to': { rel_type: 'm.thread', event_id: parent, is_falling_back: true, 'm.in_reply_to': { event_id: parent } } });
  const editOf = (who: UserClient, parent: string, body: string) =>
    send(who, room, { msgtype: 'm.text', body: `* ${body}`, 'm.new_content': { msgtype: 'm.text', body }, 'm.relates_to': { rel_type: 'm.replace', event_id: parent } });
  const relations = (who: UserClient, eventId: string, rest = '', query: Record<string, string | number> = {}) =>
    who.get(`${V1}/rooms/${e(room)}/relations/${e(eventId)}${rest}`, query);
  const ids = (events: Body[]): string[] => events.map((event) => event.event_id as string);

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map(async (name) => client.as(await client.register(name))));
    startTs = Date.now();
    room = await alice.createRoom({ preset: 'private_chat', invite: [bob.userId, dave.userId] });
    await bob.post(`/join/${e(room)}`);
    root = await send(alice, room, { msgtype: 'm.text', body: 'root' });
    reply1 = await threadReply(bob, root, 'first reply');
    edit1 = await editOf(alice, root, 'root, edited');
    reaction = await send(bob, room, { 'm.relates_to': { rel_type: 'm.annotation', event_id: root, key: '👍' } }, 'm.reaction');
    foreignEdit = await editOf(bob, root, 'not yours to edit');
    reply2 = await threadReply(alice, root, 'second reply');
    replyEdit = await editOf(alice, reply2, 'second reply, edited');
    replyReaction = await send(alice, room, { 'm.relates_to': { rel_type: 'm.annotation', event_id: reply1, key: '🎉' } }, 'm.reaction');
    reference = await send(bob, room, { msgtype: 'm.text', body: 'see above', 'm.relates_to': { rel_type: 'm.reference', event_id: root } });
    edit2 = await editOf(alice, root, 'root, edited again');
    root2 = await send(alice, room, { msgtype: 'm.text', body: 'another root' });
    await threadReply(alice, root2, 'a reply in the other thread');
    await dave.post(`/join/${e(room)}`);
  });
  afterAll(() => server?.stop());

  it('lists the children of an event newest first, pages with next_batch and honours dir, relType and eventType', async () => {
    const all = await relations(bob, root, '', { limit: 20 });
    expect(ids(all.chunk)).toEqual([edit2, reference, reply2, foreignEdit, reaction, edit1, reply1]);
    expect(all.next_batch).toBeUndefined();
    expect(all.prev_batch).toBeUndefined();
    expect(all.recursion_depth).toBeUndefined();

    const first = await relations(bob, root, '', { limit: 3 });
    expect(ids(first.chunk)).toEqual([edit2, reference, reply2]);
    expect(first.next_batch).toEqual(expect.any(String));
    const second = await relations(bob, root, '', { limit: 3, from: first.next_batch });
    expect(ids(second.chunk)).toEqual([foreignEdit, reaction, edit1]);
    expect(second.prev_batch).toBe(first.next_batch);
    const last = await relations(bob, root, '', { limit: 3, from: second.next_batch });
    expect(ids(last.chunk)).toEqual([reply1]);
    expect(last.next_batch).toBeUndefined();

    expect(ids((await relations(bob, root, '', { dir: 'f', limit: 20 })).chunk)).toEqual([reply1, edit1, reaction, foreignEdit, reply2, reference, edit2]);
    expect(ids((await relations(bob, root, '/m.thread')).chunk)).toEqual([reply2, reply1]);
    expect(ids((await relations(bob, root, '/m.annotation/m.reaction')).chunk)).toEqual([reaction]);
    expect((await relations(bob, root, '/m.annotation/m.room.message')).chunk).toEqual([]);
    // `to` stops before the page reaches it.
    expect(ids((await relations(bob, root, '', { to: first.next_batch })).chunk)).toEqual([edit2, reference, reply2]);
    // A /sync next_batch is a valid `from`/`to` too (relations.yaml).
    const syncToken = (await bob.sync()).next_batch as string;
    expect(ids((await relations(bob, root, '', { limit: 20, from: syncToken })).chunk)).toEqual(ids(all.chunk));
    expect(ids((await relations(bob, root, '', { dir: 'f', limit: 20, to: syncToken })).chunk)).toEqual([...ids(all.chunk)].reverse());
  });

  it('follows indirect relations only with recurse, and says how deep', async () => {
    // Synapse's default page is 5 events.
    expect((await relations(bob, root)).chunk).toHaveLength(5);
    expect(ids((await relations(bob, root, '', { limit: 20 })).chunk)).not.toContain(replyReaction);
    const deep = await relations(bob, root, '', { recurse: 'true', limit: 20 });
    expect(ids(deep.chunk)).toContain(replyReaction);
    expect(deep.recursion_depth).toBe(3);
    const shallow = await relations(bob, root, '', { recurse: 'false', limit: 20 });
    expect(ids(shallow.chunk)).not.toContain(replyReaction);
    expect(shallow.recursion_depth).toBe(1);
    expect(ids((await relations(bob, root, '/m.annotation', { recurse: 'true' })).chunk)).toEqual([replyReaction, reaction]);
  });

  it('answers 404 for an unknown parent, 403 to a user outside the room, 400 for bad parameters', async () => {
    await bob.fails('GET', `${V1}/rooms/${e(room)}/relations/${e('$nope')}`, { status: 404, errcode: 'M_NOT_FOUND' });
    await carol.fails('GET', `${V1}/rooms/${e(room)}/relations/${e(root)}`, { status: 403, errcode: 'M_FORBIDDEN' });
    await bob.fails('GET', `${V1}/rooms/${e(room)}/relations/${e(root)}`, { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { dir: 'x' } });
    await bob.fails('GET', `${V1}/rooms/${e(room)}/relations/${e(root)}`, { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { from: 'junk' } });
  });

  const expectRootAggregations = (event: Body, participated: boolean): void => {
    const bundled = event.unsigned['m.relations'] as Body;
    expect(bundled['m.thread']).toMatchObject({ count: 2, current_user_participated: participated, latest_event: { event_id: reply2, sender: alice.userId } });
    // The latest event's own children are aggregated too (threading.md).
    expect(bundled['m.thread'].latest_event.unsigned['m.relations']).toEqual({ 'm.replace': expect.objectContaining({ event_id: replyEdit }) });
    // The most recent valid edit: the original sender's; bob's "edit" is not one.
    expect(bundled['m.replace']).toMatchObject({ event_id: edit2, sender: alice.userId, content: { 'm.new_content': { body: 'root, edited again' } } });
    expect(bundled['m.reference']).toEqual({ chunk: [{ event_id: reference }] });
    // The original's content is left intact.
    expect(event.content.body).toBe('root');
  };

  it('bundles m.thread, m.replace and m.reference on /event, /messages and /context', async () => {
    expectRootAggregations(await bob.get(`/rooms/${e(room)}/event/${e(root)}`), true);
    expectRootAggregations(await dave.get(`/rooms/${e(room)}/event/${e(root)}`), false);
    const messages = (await bob.get(`/rooms/${e(room)}/messages`, { dir: 'b', limit: 50 })).chunk as Body[];
    expectRootAggregations(messages.find((event) => event.event_id === root)!, true);
    expect(messages.find((event) => event.event_id === reply2)!.unsigned['m.relations']).toEqual({ 'm.replace': expect.objectContaining({ event_id: replyEdit }) });
    const context = await bob.get(`/rooms/${e(room)}/context/${e(root)}`, { limit: 4 });
    expectRootAggregations(context.event, true);
    // The spec defines no server-side aggregation of m.annotation: reply1's reaction is not bundled.
    const reply1Event = await bob.get(`/rooms/${e(room)}/event/${e(reply1)}`);
    expect(reply1Event.unsigned['m.relations']).toBeUndefined();
  });

  it('bundles aggregations on /sync timelines', async () => {
    const response = await bob.sync({ filter: JSON.stringify({ room: { timeline: { limit: 50 } } }) });
    const timeline = response.rooms.join[room].timeline.events as Body[];
    expectRootAggregations(timeline.find((event) => event.event_id === root)!, true);
  });

  it('lists thread roots by latest activity, with include=participated and pagination', async () => {
    const threads = await bob.get(`${V1}/rooms/${e(room)}/threads`);
    expect(ids(threads.chunk)).toEqual([root2, root]);
    expect(threads.chunk[1].unsigned['m.relations']['m.thread']).toMatchObject({ count: 2, current_user_participated: true });
    expect(threads.next_batch).toBeUndefined();
    expect(ids((await bob.get(`${V1}/rooms/${e(room)}/threads`, { include: 'participated' })).chunk)).toEqual([root]);
    expect((await dave.get(`${V1}/rooms/${e(room)}/threads`, { include: 'participated' })).chunk).toEqual([]);
    const page1 = await bob.get(`${V1}/rooms/${e(room)}/threads`, { limit: 1 });
    expect(ids(page1.chunk)).toEqual([root2]);
    const page2 = await bob.get(`${V1}/rooms/${e(room)}/threads`, { limit: 1, from: page1.next_batch });
    expect(ids(page2.chunk)).toEqual([root]);
    expect(page2.next_batch).toBeUndefined();
    await bob.fails('GET', `${V1}/rooms/${e(room)}/threads`, { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { include: 'some' } });
    await carol.fails('GET', `${V1}/rooms/${e(room)}/threads`, { status: 403, errcode: 'M_FORBIDDEN' });
  });

  it('hides relations outside the requester’s history visibility', async () => {
    const secret = await alice.createRoom({ preset: 'private_chat', invite: [carol.userId], initial_state: [
      { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'joined' } },
    ] });
    const early = await send(alice, secret, { msgtype: 'm.text', body: 'before carol' });
    await send(alice, secret, { msgtype: 'm.text', body: 'early reply', 'm.relates_to': { rel_type: 'm.thread', event_id: early } });
    await carol.post(`/join/${e(secret)}`);
    await carol.fails('GET', `${V1}/rooms/${e(secret)}/relations/${e(early)}`, { status: 404, errcode: 'M_NOT_FOUND' });
    expect((await carol.get(`${V1}/rooms/${e(secret)}/threads`)).chunk).toEqual([]);
    const late = await send(alice, secret, { msgtype: 'm.text', body: 'after carol' });
    const lateReply = await send(alice, secret, { msgtype: 'm.text', body: 'late reply', 'm.relates_to': { rel_type: 'm.thread', event_id: late } });
    expect(ids((await carol.get(`${V1}/rooms/${e(secret)}/relations/${e(late)}`)).chunk)).toEqual([lateReply]);
  });

  it('drops a redacted edit from the aggregation and the relations', async () => {
    await alice.put(`/rooms/${e(room)}/redact/${e(edit2)}/r${++txn}`, {});
    const event = await bob.get(`/rooms/${e(room)}/event/${e(root)}`);
    expect(event.unsigned['m.relations']['m.replace']).toMatchObject({ event_id: edit1 });
    expect(ids((await relations(bob, root, '/m.replace')).chunk)).toEqual([foreignEdit, edit1]);
  });

  it('finds the event nearest a timestamp in either direction', async () => {
    const path = `${V1}/rooms/${e(room)}/timestamp_to_event`;
    const first = await bob.get(path, { ts: 0, dir: 'f' });
    const created = (await bob.get(`/rooms/${e(room)}/messages`, { dir: 'f', limit: 1 })).chunk[0] as Body;
    expect(first).toEqual({ event_id: created.event_id, origin_server_ts: created.origin_server_ts });
    expect(first.origin_server_ts).toBeGreaterThanOrEqual(startTs);
    const newest = (await bob.get(`/rooms/${e(room)}/messages`, { dir: 'b', limit: 1 })).chunk[0] as Body;
    expect(await bob.get(path, { ts: Date.now() + 60_000, dir: 'b' })).toEqual({ event_id: newest.event_id, origin_server_ts: newest.origin_server_ts });
    await bob.fails('GET', path, { status: 404, errcode: 'M_NOT_FOUND' }, { query: { ts: 1000, dir: 'b' } });
    await bob.fails('GET', path, { status: 404, errcode: 'M_NOT_FOUND' }, { query: { ts: Date.now() + 60_000, dir: 'f' } });
    await bob.fails('GET', path, { status: 400, errcode: 'M_MISSING_PARAM' }, { query: { ts: 0 } });
    await bob.fails('GET', path, { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { ts: 'soon', dir: 'f' } });
    await carol.fails('GET', path, { status: 403, errcode: 'M_FORBIDDEN' }, { query: { ts: 0, dir: 'f' } });
  });
});
