// Ignoring users (client-server-api/modules/ignore_users.md) and invite permission (since v1.18,
// modules/invite_permission.md) end to end over HTTP, against the whole server (embedded mode).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MatrixClient, e, messageBodies, startTestServer, timelineOf, type Body, type TestServer, type UserClient,
} from '../harness/index.ts';

describe('ignoring users and blocking invites (embedded)', () => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let hall: string;
  let bobsMessage: string;
  let bobsInviteRoom: string;
  let aliceSince: string;
  const room = (roomId: string, rest = ''): string => `/rooms/${e(roomId)}${rest}`;
  const accountData = (user: UserClient, type: string): string => `/user/${e(user.userId)}/account_data/${type}`;
  const invitesOf = (sync: Body): string[] => Object.keys(((sync.rooms as Body | undefined)?.invite as Body | undefined) ?? {});

  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded' });
    const client = new MatrixClient(server.url);
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => client.as(await client.register(name))));
    hall = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(room(hall, '/join'));
    await carol.post(room(hall, '/join'));
  });
  afterAll(() => server?.stop());

  it("hides an ignored user's messages from the ignoring user's /sync, /messages, /event and /context only", async () => {
    const before = (await alice.sync()).next_batch as string;
    await alice.put(accountData(alice, 'm.ignored_user_list'), { ignored_users: { [bob.userId]: {} } });
    bobsMessage = await bob.send(hall, 'from bob');
    const carolsMessage = await carol.send(hall, 'from carol');

    // Incrementally: ignoring applies from the sync that carries the account data change.
    const incremental = await alice.syncUntil((sync) => messageBodies(timelineOf(sync, hall)).includes('from carol'), { since: before });
    expect(messageBodies(timelineOf(incremental, hall))).toEqual(['from carol']);

    const aliceSync = await alice.sync();
    aliceSince = aliceSync.next_batch as string;
    const timeline = timelineOf(aliceSync, hall);
    expect(messageBodies(timeline)).toEqual(['from carol']);
    // "Servers must still send state events sent by ignored users."
    expect(timeline.some((event) => event.type === 'm.room.member' && event.state_key === bob.userId)).toBe(true);
    expect(messageBodies(timelineOf(await carol.sync(), hall))).toEqual(['from bob', 'from carol']);

    const aliceMessages = await alice.get(room(hall, '/messages'), { dir: 'b', limit: '5' });
    expect(messageBodies(aliceMessages.chunk as Body[])).toEqual(['from carol']);
    const carolMessages = await carol.get(room(hall, '/messages'), { dir: 'b', limit: '5' });
    expect(messageBodies(carolMessages.chunk as Body[])).toEqual(['from carol', 'from bob']);

    await alice.fails('GET', room(hall, `/event/${e(bobsMessage)}`), { status: 404, errcode: 'M_NOT_FOUND' });
    expect(await carol.get(room(hall, `/event/${e(bobsMessage)}`))).toMatchObject({ event_id: bobsMessage });
    const context = await alice.get(room(hall, `/context/${e(carolsMessage)}`), { limit: '4' });
    expect((context.events_before as Body[]).map((event) => event.event_id)).not.toContain(bobsMessage);
  });

  it("does not serve an ignored user's invite", async () => {
    bobsInviteRoom = await bob.createRoom({ preset: 'private_chat' });
    await bob.post(room(bobsInviteRoom, '/invite'), { user_id: alice.userId });
    expect(invitesOf(await alice.sync())).not.toContain(bobsInviteRoom);
  });

  it('sends new messages of a user once un-ignored, not the ones missed meanwhile', async () => {
    await alice.put(accountData(alice, 'm.ignored_user_list'), { ignored_users: {} });
    await bob.send(hall, 'after un-ignoring');
    const later = await alice.syncUntil((sync) => messageBodies(timelineOf(sync, hall)).includes('after un-ignoring'), { since: aliceSince });
    expect(messageBodies(timelineOf(later, hall))).not.toContain('from bob');
  });

  it("does not count an ignored user's messages in unread_notifications", async () => {
    const quiet = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(room(quiet, '/join'));
    await carol.post(room(quiet, '/join'));
    await alice.put(accountData(alice, 'm.ignored_user_list'), { ignored_users: { [bob.userId]: {} } });
    const mention = { msgtype: 'm.text', 'm.mentions': { user_ids: [alice.userId] } };
    await bob.put(room(quiet, '/send/m.room.message/ignored-mention'), { ...mention, body: 'bob mentions alice' });
    await carol.put(room(quiet, '/send/m.room.message/carol-mention'), { ...mention, body: 'carol mentions alice' });
    const sync = await alice.syncUntil((response) => messageBodies(timelineOf(response, quiet)).includes('carol mentions alice'));
    const joined = ((sync.rooms as Body).join as Body)[quiet] as Body;
    expect(joined.unread_notifications).toEqual({ notification_count: 1, highlight_count: 1 });
    await alice.put(accountData(alice, 'm.ignored_user_list'), { ignored_users: {} });
    const after = await alice.sync();
    expect((((after.rooms as Body).join as Body)[quiet] as Body).unread_notifications).toEqual({ notification_count: 2, highlight_count: 2 });
  });

  it("leaves an ignored user's relations and thread roots out of /relations and /threads", async () => {
    const threads = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(room(threads, '/join'));
    await carol.post(room(threads, '/join'));
    const carolsRoot = await carol.send(threads, 'carol starts a thread');
    const inThread = (body: string) => ({ msgtype: 'm.text', body, 'm.relates_to': { rel_type: 'm.thread', event_id: carolsRoot } });
    const bobsReply = (await bob.put(room(threads, '/send/m.room.message/bob-reply'), inThread('bob replies'))).event_id as string;
    const carolsReply = (await carol.put(room(threads, '/send/m.room.message/carol-reply'), inThread('carol replies'))).event_id as string;
    const bobsRoot = await bob.send(threads, 'bob starts a thread');
    await carol.put(room(threads, '/send/m.room.message/carol-in-bobs'), { msgtype: 'm.text', body: 'on it', 'm.relates_to': { rel_type: 'm.thread', event_id: bobsRoot } });
    await alice.put(accountData(alice, 'm.ignored_user_list'), { ignored_users: { [bob.userId]: {} } });

    const V1 = '/_matrix/client/v1';
    const ids = (body: Body) => (body.chunk as Body[]).map((event) => event.event_id);
    expect(ids(await alice.get(`${V1}${room(threads, `/relations/${e(carolsRoot)}`)}`))).toEqual([carolsReply]);
    expect(ids(await carol.get(`${V1}${room(threads, `/relations/${e(carolsRoot)}`)}`))).toEqual([carolsReply, bobsReply]);
    expect(ids(await alice.get(`${V1}${room(threads, '/threads')}`))).toEqual([carolsRoot]);
    expect(ids(await carol.get(`${V1}${room(threads, '/threads')}`))).toEqual([bobsRoot, carolsRoot]);
    await alice.put(accountData(alice, 'm.ignored_user_list'), { ignored_users: {} });
  });

  it('refuses invites with 403 M_INVITE_BLOCKED while the user blocks them, and hides existing invites', async () => {
    await alice.put(accountData(alice, 'm.invite_permission_config'), { default_action: 'block' });
    // bob's earlier invite is no longer hidden by ignoring, but blocking hides it.
    expect(invitesOf(await alice.sync())).not.toContain(bobsInviteRoom);

    const other = await bob.createRoom({ preset: 'private_chat' });
    await bob.fails('POST', room(other, '/invite'), { status: 403, errcode: 'M_INVITE_BLOCKED' }, { json: { user_id: alice.userId } });
    await bob.fails('PUT', room(other, `/state/m.room.member/${e(alice.userId)}`), { status: 403, errcode: 'M_INVITE_BLOCKED' },
      { json: { membership: 'invite' } });

    // createRoom answers 403 M_INVITE_BLOCKED for alice, yet "the room creation as a whole succeeds":
    // carol is invited to it, alice is not.
    const carolSince = (await carol.sync()).next_batch as string;
    await bob.fails('POST', '/createRoom', { status: 403, errcode: 'M_INVITE_BLOCKED' },
      { json: { preset: 'private_chat', name: 'blocked', invite: [alice.userId, carol.userId] } });
    const invited = await carol.syncUntil((sync) => invitesOf(sync).length > 0, { since: carolSince });
    const [created] = invitesOf(invited);
    const members = (await bob.get(room(created!, '/members'))).chunk as Body[];
    const membership = (userId: string) => members.find((event) => event.state_key === userId)?.content;
    expect(membership(carol.userId)).toMatchObject({ membership: 'invite' });
    expect(membership(alice.userId)).toBeUndefined();
    expect(invitesOf(await alice.sync())).not.toContain(created);
  });

  it('lets invites through again once unblocked', async () => {
    await alice.put(accountData(alice, 'm.invite_permission_config'), {});
    const again = await bob.createRoom({ preset: 'private_chat' });
    await bob.post(room(again, '/invite'), { user_id: alice.userId });
    const invites = invitesOf(await alice.sync());
    expect(invites).toContain(again);
    // "Servers MAY return any suppressed invite events over GET /sync if invite blocking is later disabled."
    expect(invites).toContain(bobsInviteRoom);
  });
});
