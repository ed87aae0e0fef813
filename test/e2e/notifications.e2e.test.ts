// Notification counts and GET /notifications end to end, over HTTP, in both deployments: the
// counts in /sync follow the user's push rules (client-server-api/modules/push.md § Receiving
// notifications) and read receipts (§ Marking notifications as read); /notifications pages
// through the same evaluations, newest first (notifications.yaml).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

const QUIET_FILTER = JSON.stringify({ room: { timeline: { limit: 1 } }, presence: { types: [] } });

describe.each<ServerMode>(['embedded', 'distributed'])('push rules decide notifications (%s)', (mode) => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  let roomId: string;
  /** alice's messages, oldest first: plain, keyword, mention of bob. */
  const sent: string[] = [];

  const sendContent = async (sender: UserClient, content: Body): Promise<string> =>
    (await sender.put(`/rooms/${e(roomId)}/send/m.room.message/t${Math.random().toString(36).slice(2)}`, content)).event_id as string;

  const countsOf = (response: Body): Body | undefined => response.rooms?.join?.[roomId]?.unread_notifications as Body | undefined;

  /** Initial syncs until bob's room section shows `expected` (the projection may lag a moment in distributed mode). */
  const expectRoom = async (expected: Body, filter = QUIET_FILTER): Promise<void> => {
    const deadline = Date.now() + 15_000;
    let last: Body = {};
    while (Date.now() < deadline) {
      const joined = (await bob.sync({ filter })).rooms?.join?.[roomId] as Body | undefined;
      last = { unread_notifications: joined?.unread_notifications, unread_thread_notifications: joined?.unread_thread_notifications };
      if (JSON.stringify(last) === JSON.stringify({ unread_thread_notifications: undefined, ...expected })) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(last).toEqual({ unread_thread_notifications: undefined, ...expected });
  };
  const expectCounts = (counts: { notification_count: number; highlight_count: number }): Promise<void> =>
    expectRoom({ unread_notifications: counts });

  beforeAll(async () => {
    server = await startTestServer({ mode });
    const client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
    const carol = client.as(await client.register('carol'));
    roomId = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${e(roomId)}`);
    await carol.post(`/join/${e(roomId)}`);
    sent.push(await alice.send(roomId, 'good morning'));
    sent.push(await alice.send(roomId, 'there is cake in the kitchen'));
    sent.push(await sendContent(alice, { msgtype: 'm.text', body: 'bob, look', 'm.mentions': { user_ids: [bob.userId] } }));
    await bob.send(roomId, 'my own message never counts');
  });
  afterAll(() => server?.stop());

  it('counts notifying events from others after joining, highlighting mentions (default rules)', async () => {
    await expectCounts({ notification_count: 3, highlight_count: 1 });
  });

  it('follows push rule changes: a room rule mutes what overrides do not, a keyword rule highlights', async () => {
    await bob.put(`/pushrules/global/room/${e(roomId)}`, { actions: ['dont_notify'] });
    // The mention matches an override rule, checked before room rules.
    await expectCounts({ notification_count: 1, highlight_count: 1 });
    await bob.delete(`/pushrules/global/room/${e(roomId)}`);
    await bob.put('/pushrules/global/content/cake', { pattern: 'cake', actions: ['notify', { set_tweak: 'highlight' }] });
    await expectCounts({ notification_count: 3, highlight_count: 2 });
    await bob.put('/pushrules/global/override/.m.rule.is_user_mention/enabled', { enabled: false });
    await expectCounts({ notification_count: 3, highlight_count: 1 });
    await bob.put('/pushrules/global/override/.m.rule.is_user_mention/enabled', { enabled: true });
    await expectCounts({ notification_count: 3, highlight_count: 2 });
  });

  it('lists notifications newest first with their actions, pages by next_token and filters highlights', async () => {
    const all = await bob.get('/notifications');
    const ids = (all.notifications as Body[]).map((n) => n.event.event_id);
    expect(ids).toEqual([...sent].reverse());
    expect(all.next_token).toBeUndefined();
    const mention = (all.notifications as Body[])[0]!;
    expect(mention).toMatchObject({
      room_id: roomId, read: false, ts: expect.any(Number),
      actions: expect.arrayContaining(['notify', { set_tweak: 'highlight' }]),
      event: { type: 'm.room.message', sender: alice.userId, content: { body: 'bob, look' } },
    });
    expect(mention.event.room_id).toBeUndefined();
    // No pusher carries a profile tag yet: none is shown.
    expect(mention.profile_tag).toBeUndefined();

    const paged: string[] = [];
    let from: string | undefined;
    for (let page = 0; page < 5; page++) {
      const reply = await bob.get('/notifications', { limit: 1, ...(from === undefined ? {} : { from }) });
      paged.push(...(reply.notifications as Body[]).map((n) => n.event.event_id as string));
      from = reply.next_token as string | undefined;
      if (from === undefined) break;
    }
    expect(paged).toEqual(ids);

    const highlights = await bob.get('/notifications', { only: 'highlight' });
    expect((highlights.notifications as Body[]).map((n) => n.event.event_id)).toEqual([sent[2], sent[1]]);
    await bob.fails('GET', '/notifications', { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { from: 'nonsense' } });
  });

  it('names the profile tag bob\'s pusher was set with on each notification', async () => {
    await bob.post('/pushers/set', {
      kind: 'http', app_id: 'org.example.app', pushkey: 'bob-key', app_display_name: 'App', device_display_name: 'Phone',
      profile_tag: 'work', lang: 'en', data: { url: 'https://push.example.org/_matrix/push/v1/notify' },
    });
    const listed = await bob.get('/notifications');
    expect((listed.notifications as Body[]).length).toBeGreaterThan(0);
    expect((listed.notifications as Body[]).every((n) => n.profile_tag === 'work')).toBe(true);
    await bob.post('/pushers/set', { kind: null, app_id: 'org.example.app', pushkey: 'bob-key' });
    expect(((await bob.get('/notifications')).notifications as Body[])[0]?.profile_tag).toBeUndefined();
  });

  it('clears counts up to the furthest read receipt (m.read or m.read.private) and marks listed notifications read', async () => {
    await bob.post(`/rooms/${e(roomId)}/receipt/m.read/${e(sent[0]!)}`, {});
    await expectCounts({ notification_count: 2, highlight_count: 2 });
    await bob.post(`/rooms/${e(roomId)}/receipt/m.read.private/${e(sent[1]!)}`, {});
    await expectCounts({ notification_count: 1, highlight_count: 1 });
    const listed = (await bob.get('/notifications')).notifications as Body[];
    expect(listed.map((n) => n.read)).toEqual([false, true, true]);
    // The receipt is news for the room, so an incremental sync carries the cleared counts.
    const beforeReceipt = (await bob.sync({ filter: QUIET_FILTER })).next_batch as string;
    await bob.post(`/rooms/${e(roomId)}/receipt/m.read/${e(sent[2]!)}`, {});
    const cleared = await bob.syncUntil((response) => countsOf(response)?.notification_count === 0, { since: beforeReceipt, filter: QUIET_FILTER });
    expect(countsOf(cleared)).toEqual({ notification_count: 0, highlight_count: 0 });
    await expectCounts({ notification_count: 0, highlight_count: 0 });
    // A new message counts again, and an incremental sync carries the new count.
    const since = cleared.next_batch as string;
    await alice.send(roomId, 'one more');
    const next = await bob.syncUntil((response) => countsOf(response)?.notification_count === 1, { since, filter: QUIET_FILTER });
    expect(countsOf(next)).toEqual({ notification_count: 1, highlight_count: 0 });
  });

  it('partitions counts per thread with unread_thread_notifications, cleared by threaded receipts', async () => {
    const threaded = JSON.stringify({ room: { timeline: { limit: 1, unread_thread_notifications: true } }, presence: { types: [] } });
    const reply = await sendContent(alice, { msgtype: 'm.text', body: 'in a thread', 'm.relates_to': { rel_type: 'm.thread', event_id: sent[0] } });
    const one = { notification_count: 1, highlight_count: 0 };
    await expectRoom({ unread_notifications: one, unread_thread_notifications: { [sent[0]!]: one } }, threaded);
    await expectCounts({ notification_count: 2, highlight_count: 0 });
    await bob.post(`/rooms/${e(roomId)}/receipt/m.read/${e(reply)}`, { thread_id: sent[0] });
    await expectRoom({ unread_notifications: one }, threaded);
  });
});
