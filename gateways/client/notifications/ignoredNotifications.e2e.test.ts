// GET /notifications under m.ignored_user_list (client-server-api/modules/ignore_users.md), over
// HTTP in both deployments: as Synapse, which never records a notification of an ignored user's
// non-state event, the list leaves those events out; un-ignoring brings them back, as /sync's
// counts do (both evaluate at read time). State events of ignored users still notify (unit tested).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../../../test/harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('GET /notifications leaves ignored users out (%s)', (mode) => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let hall: string;
  let bobsMessage: string;
  let carolsMessage: string;

  const ignoredList = (users: string[]): Promise<Body> =>
    alice.put(`/user/${e(alice.userId)}/account_data/m.ignored_user_list`, { ignored_users: Object.fromEntries(users.map((user) => [user, {}])) });

  /** alice's notifications once `count` are listed (the projection may lag a moment in distributed mode). */
  const notificationsWhen = async (count: number): Promise<Body> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const page = await alice.get('/notifications');
      if ((page.notifications as Body[]).length === count || Date.now() > deadline) return page;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const notification = (roomId: string, eventId: string, sender: UserClient, type: string, content: Body, actions: unknown[]): Body => ({
    actions,
    event: { content, event_id: eventId, origin_server_ts: expect.any(Number), sender: sender.userId, type, unsigned: { age: expect.any(Number) } },
    read: false,
    room_id: roomId,
    ts: expect.any(Number),
  });

  beforeAll(async () => {
    server = await startTestServer({ mode });
    const client = new MatrixClient(server.url);
    [alice, bob, carol] = await Promise.all(['alice', 'bob', 'carol'].map(async (name) => client.as(await client.register(name))));
    hall = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${e(hall)}`);
    await carol.post(`/join/${e(hall)}`);
    await ignoredList([bob.userId]);
    bobsMessage = await bob.send(hall, 'from bob');
    carolsMessage = await carol.send(hall, 'from carol');
  });
  afterAll(() => server?.stop());

  it("lists carol's message, not bob's", async () => {
    // Once carol's message is listed, bob's (sent before it) has been evaluated too.
    expect(await notificationsWhen(1)).toEqual({
      notifications: [notification(hall, carolsMessage, carol, 'm.room.message', { msgtype: 'm.text', body: 'from carol' }, ['notify'])],
    });
  });

  it("lists bob's message again once alice stops ignoring him", async () => {
    await ignoredList([]);
    expect(await notificationsWhen(2)).toEqual({
      notifications: [
        notification(hall, carolsMessage, carol, 'm.room.message', { msgtype: 'm.text', body: 'from carol' }, ['notify']),
        notification(hall, bobsMessage, bob, 'm.room.message', { msgtype: 'm.text', body: 'from bob' }, ['notify']),
      ],
    });
  });
});
