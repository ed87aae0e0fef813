// Bundled aggregations under m.ignored_user_list (client-server-api/modules/ignore_users.md,
// § Aggregations of child events, threading.md), over HTTP in both deployments. As Synapse
// (handlers/relations.py): a thread's `count` leaves out the ignored users' replies, its
// `latest_event` is the latest reply of someone else, a thread of only ignored replies gets no
// summary, and references from ignored users are not listed; `current_user_participated` is the
// viewer's own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../../../test/harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('bundled aggregations leave ignored users out (%s)', (mode) => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let room: string;
  /** carol's thread root: replies from carol then bob (the latest), references from bob and carol. */
  let root: string;
  let carolsReply: string;
  let bobsReply: string;
  let bobsReference: string;
  let carolsReference: string;
  /** A root only bob replied to. */
  let bobsThread: string;
  let txn = 0;

  const send = async (who: UserClient, content: Body): Promise<string> =>
    (await who.put(`/rooms/${e(room)}/send/m.room.message/t${++txn}`, content)).event_id as string;
  const threadReply = (who: UserClient, parent: string, body: string) =>
    send(who, { msgtype: 'm.text', body, 'm.relates_to': { rel_type: 'm.thread', event_id: parent, is_falling_back: true, 'm.in_reply_to': { event_id: parent } } });
  const referenceTo = (who: UserClient, parent: string) =>
    send(who, { msgtype: 'm.text', body: 'see above', 'm.relates_to': { rel_type: 'm.reference', event_id: parent } });
  /** `unsigned.m.relations` of an event as `who` gets it from /event. */
  const relationsOf = async (who: UserClient, eventId: string): Promise<Body | undefined> =>
    ((await who.get(`/rooms/${e(room)}/event/${e(eventId)}`)).unsigned as Body)['m.relations'] as Body | undefined;
  const reply = (eventId: string, sender: UserClient, body: string, parent: string): Body => ({
    content: { msgtype: 'm.text', body, 'm.relates_to': { rel_type: 'm.thread', event_id: parent, is_falling_back: true, 'm.in_reply_to': { event_id: parent } } },
    event_id: eventId, origin_server_ts: expect.any(Number), room_id: room, sender: sender.userId, type: 'm.room.message', unsigned: { age: expect.any(Number) },
  });

  beforeAll(async () => {
    server = await startTestServer({ mode });
    const client = new MatrixClient(server.url);
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => client.as(await client.register(name))));
    room = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${e(room)}`);
    await carol.post(`/join/${e(room)}`);
    root = await send(carol, { msgtype: 'm.text', body: 'root' });
    carolsReply = await threadReply(carol, root, 'from carol');
    bobsReply = await threadReply(bob, root, 'from bob');
    bobsReference = await referenceTo(bob, root);
    carolsReference = await referenceTo(carol, root);
    bobsThread = await send(carol, { msgtype: 'm.text', body: 'only bob answers' });
    await threadReply(bob, bobsThread, 'bob alone');
    await alice.put(`/user/${e(alice.userId)}/account_data/m.ignored_user_list`, { ignored_users: { [bob.userId]: {} } });
  });
  afterAll(() => server?.stop());

  it("counts and shows the thread without bob's reply for alice, who ignores him", async () => {
    expect(await relationsOf(alice, root)).toEqual({
      'm.thread': { latest_event: reply(carolsReply, carol, 'from carol', root), count: 1, current_user_participated: false },
      'm.reference': { chunk: [{ event_id: carolsReference }] },
    });
    // Bob's only reply: no thread summary at all.
    expect(await relationsOf(alice, bobsThread)).toBeUndefined();
  });

  it('bundles the same thread in full for carol', async () => {
    expect(await relationsOf(carol, root)).toEqual({
      'm.thread': { latest_event: reply(bobsReply, bob, 'from bob', root), count: 2, current_user_participated: true },
      'm.reference': { chunk: [{ event_id: bobsReference }, { event_id: carolsReference }] },
    });
  });

  it("bundles the same way in alice's /messages", async () => {
    const chunk = (await alice.get(`/rooms/${e(room)}/messages`, { dir: 'b', limit: '20' })).chunk as Body[];
    const served = chunk.find((event) => event.event_id === root)!;
    expect((served.unsigned as Body)['m.relations']).toEqual({
      'm.thread': { latest_event: reply(carolsReply, carol, 'from carol', root), count: 1, current_user_participated: false },
      'm.reference': { chunk: [{ event_id: carolsReference }] },
    });
  });
});
