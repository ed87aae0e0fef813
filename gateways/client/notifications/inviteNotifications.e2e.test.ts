// Invites in GET /notifications (notifications.yaml), over HTTP in both deployments. The default
// override rule `.m.rule.invite_for_me` makes an invite notify the invitee, who is not in the room:
// as Synapse (which records push actions for the invitee), the invite of a room the user is invited
// to is listed among the joined rooms' notifications, newest first, and nothing else of that room.
// Once joined, the room's later events are listed and the invite is not. As /sync, an invite from
// an ignored user is not listed (Synapse's /sync skips those invites).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../../../test/harness/index.ts';

const SOUND = { set_tweak: 'sound', value: 'default' };

describe.each<ServerMode>(['embedded', 'distributed'])('GET /notifications lists pending invites (%s)', (mode) => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  /** Expected notifications, newest first, by name. */
  const expected = new Map<string, Body>();
  const room = (roomId: string, rest = ''): string => `/rooms/${e(roomId)}${rest}`;

  /** An event as `viewer` reads it once the read model has it (the projection may lag in distributed mode). */
  const eventOf = async (viewer: UserClient, path: string, query: Record<string, string> = {}): Promise<Body> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const reply = await viewer.request('GET', path, { query });
      if (reply.status === 200 || Date.now() > deadline) {
        expect(reply.status).toBe(200);
        return reply.body;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  /** A notification of alice's, from the event as read by its sender (alice sees it unread, with her own `age`). */
  const notification = (event: Body, actions: unknown[], read = false): Body => {
    const { room_id: roomId, unsigned: _unsigned, ...rest } = event;
    return { actions, event: { ...rest, unsigned: { age: expect.any(Number) } }, read, room_id: roomId, ts: event.origin_server_ts };
  };

  /** Invites `invitee` to `roomId` and answers the invite event. */
  const invite = async (inviter: UserClient, roomId: string, invitee: UserClient): Promise<Body> => {
    await inviter.post(room(roomId, '/invite'), { user_id: invitee.userId });
    return eventOf(inviter, room(roomId, `/state/m.room.member/${e(invitee.userId)}`), { format: 'event' });
  };

  const message = async (sender: UserClient, roomId: string, content: Body): Promise<Body> => {
    const { event_id: eventId } = await sender.put(room(roomId, `/send/m.room.message/${Math.random().toString(36).slice(2)}`), content);
    return eventOf(sender, room(roomId, `/event/${e(eventId as string)}`));
  };

  /** Newest first as the server orders them: (ts, event id) descending. */
  const newestFirst = (names: string[]): Body[] => names.map((name) => expected.get(name)!).sort((a, b) =>
    b.ts - a.ts || (b.event.event_id < a.event.event_id ? -1 : b.event.event_id > a.event.event_id ? 1 : 0));

  /** alice's notifications once they list `wanted` (the read models may lag a moment in distributed mode). */
  const notificationsWhen = async (wanted: Body[]): Promise<Body> => {
    const deadline = Date.now() + 15_000;
    const keys = (list: Body[]): string => JSON.stringify(list.map((n) => [n.event.event_id, n.read]));
    for (;;) {
      const page = await alice.get('/notifications');
      if (keys(page.notifications as Body[]) === keys(wanted) || Date.now() > deadline) return page;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    server = await startTestServer({ mode });
    const client = new MatrixClient(server.url);
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => client.as(await client.register(name))));
    const hall = await bob.createRoom({ preset: 'public_chat' });
    await alice.post(room(hall, '/join'));
    await carol.post(room(hall, '/join'));
    const first = await message(bob, hall, { msgtype: 'm.text', body: 'first' });
    await alice.post(room(hall, `/receipt/m.read/${e(first.event_id as string)}`), {});
    expected.set('first', notification(first, ['notify'], true));

    const den = await bob.createRoom({ preset: 'private_chat' });
    await message(bob, den, { msgtype: 'm.text', body: 'before alice is invited' });
    expected.set('bobsInvite', notification(await invite(bob, den, alice), ['notify', SOUND]));

    // A room alice was invited to and joined: its later events, not the invite.
    const club = await bob.createRoom({ preset: 'private_chat' });
    await invite(bob, club, alice);
    await alice.post(room(club, '/join'));
    // Two members: `.m.rule.room_one_to_one` (the hall has three: `.m.rule.message`).
    expected.set('inClub', notification(await message(bob, club, { msgtype: 'm.text', body: 'in the club' }), ['notify', SOUND]));

    const lounge = await carol.createRoom({ preset: 'private_chat' });
    expected.set('carolsInvite', notification(await invite(carol, lounge, alice), ['notify', SOUND]));
    const mention = await message(bob, hall, { msgtype: 'm.text', body: 'alice!', 'm.mentions': { user_ids: [alice.userId] } });
    expected.set('mention', notification(mention, ['notify', SOUND, { set_tweak: 'highlight' }]));
  });
  afterAll(() => server?.stop());

  it('lists the invites among the joined rooms, newest first, unread, with the invite_for_me actions', async () => {
    const all = newestFirst(['first', 'bobsInvite', 'inClub', 'carolsInvite', 'mention']);
    expect(await notificationsWhen(all)).toEqual({ notifications: all });
    expect(expected.get('bobsInvite')).toMatchObject({
      event: { type: 'm.room.member', state_key: alice.userId, sender: bob.userId, content: { membership: 'invite' } },
    });
  });

  it('pages through them with from and limit', async () => {
    const all = newestFirst(['first', 'bobsInvite', 'inClub', 'carolsInvite', 'mention']);
    const page1 = await alice.get('/notifications', { limit: '2' });
    expect(page1).toEqual({ notifications: all.slice(0, 2), next_token: expect.any(String) });
    const page2 = await alice.get('/notifications', { limit: '2', from: page1.next_token as string });
    expect(page2).toEqual({ notifications: all.slice(2, 4), next_token: expect.any(String) });
    // A page shorter than the limit, with every candidate scanned, ends the list.
    expect(await alice.get('/notifications', { limit: '2', from: page2.next_token as string })).toEqual({ notifications: all.slice(4) });
  });

  it('leaves the invites out with only=highlight (invite_for_me sets no highlight)', async () => {
    expect(await alice.get('/notifications', { only: 'highlight' })).toEqual({ notifications: [expected.get('mention')] });
  });

  it("leaves out an ignored inviter's invite, as /sync does, and lists it again once un-ignored", async () => {
    const ignoredList = (users: string[]): Promise<Body> =>
      alice.put(`/user/${e(alice.userId)}/account_data/m.ignored_user_list`, { ignored_users: Object.fromEntries(users.map((user) => [user, {}])) });
    await ignoredList([carol.userId]);
    const withoutCarol = newestFirst(['first', 'bobsInvite', 'inClub', 'mention']);
    expect(await notificationsWhen(withoutCarol)).toEqual({ notifications: withoutCarol });
    await ignoredList([]);
    const all = newestFirst(['first', 'bobsInvite', 'inClub', 'carolsInvite', 'mention']);
    expect(await notificationsWhen(all)).toEqual({ notifications: all });
  });
});
