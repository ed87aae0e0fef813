// Push gateway delivery end to end (client-server-api § Push notifications, push-gateway-api
// POST /_matrix/push/v1/notify): a real HTTP server in the test plays the push gateway for
// alice's HTTP pusher while bob talks to her.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MatrixClient, e, startTestServer, timelineOf, type Body, type ServerMode, type TestServer, type UserClient,
} from '../harness/index.ts';

const NOTIFY_PATH = '/_matrix/push/v1/notify';

/** A push gateway that records what it is sent and rejects the pushkeys it is told to. */
interface Gateway {
  readonly url: string;
  readonly received: Body[];
  readonly rejecting: Set<string>;
  close(): Promise<void>;
}

const startGateway = async (): Promise<Gateway> => {
  const received: Body[] = [];
  const rejecting = new Set<string>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body;
      if (request.method === 'POST' && request.url === NOTIFY_PATH) received.push(body);
      const devices = ((body.notification as Body | undefined)?.devices ?? []) as Body[];
      const rejected = devices.map((device) => device.pushkey as string).filter((key) => rejecting.has(key));
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rejected }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${NOTIFY_PATH}`,
    received,
    rejecting,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
};

const notificationOf = (body: Body): Body => body.notification as Body;

describe.each<ServerMode>(['embedded', 'distributed'])('push gateway delivery (%s)', (mode) => {
  let server: TestServer;
  let gateway: Gateway;
  let alice: UserClient;
  let bob: UserClient;
  let roomId: string;

  /** The notification of `eventId` the gateway received, waiting up to 15 s for it. */
  const notificationFor = async (eventId: string): Promise<Body> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = gateway.received.map(notificationOf).find((notification) => notification.event_id === eventId);
      if (found !== undefined) return found;
      if (Date.now() > deadline) throw new Error(`the push gateway received no notification of ${eventId}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const setPusher = (pushkey: string, data: Body): Promise<Body> => alice.post('/pushers/set', {
    kind: 'http', app_id: 'org.example.strata', app_display_name: 'Strata test', device_display_name: 'Phone',
    pushkey, lang: 'en', data: { url: gateway.url, ...data },
  });

  beforeAll(async () => {
    gateway = await startGateway();
    server = await startTestServer({ mode });
    const client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
    roomId = await alice.createRoom({ name: 'Tea', invite: [bob.userId] });
    await bob.post(`/join/${e(roomId)}`);
    await bob.put('/profile/' + e(bob.userId) + '/displayname', { displayname: 'Bob B' });
  });
  afterAll(async () => {
    await server?.stop();
    await gateway?.close();
  });

  it('posts a notification of bob\'s message to alice\'s pusher, with the event, counts and device', async () => {
    await setPusher('key-full', { extra: 'kept' });
    const eventId = await bob.send(roomId, 'hello alice');
    const notification = await notificationFor(eventId);
    expect(notification).toEqual({
      event_id: eventId,
      room_id: roomId,
      type: 'm.room.message',
      sender: bob.userId,
      sender_display_name: 'Bob B',
      room_name: 'Tea',
      content: { msgtype: 'm.text', body: 'hello alice' },
      // .m.rule.room_one_to_one: notify with the default sound.
      prio: 'high',
      counts: { unread: 1 },
      devices: [{
        app_id: 'org.example.strata', pushkey: 'key-full', pushkey_ts: expect.any(Number),
        data: { extra: 'kept' }, tweaks: { sound: 'default' },
      }],
    });
    expect(Math.abs((notification.devices as Body[])[0]!.pushkey_ts as number - Date.now() / 1000)).toBeLessThan(120);
    // The badge counts rooms with unread notifications (Synapse's default, push.group_unread_count_by_room):
    // a second unread message in the same room leaves it at one.
    expect(notificationOf(gateway.received.find((body) => notificationOf(body).event_id === eventId)!).counts).toEqual({ unread: 1 });
    expect((await notificationFor(await bob.send(roomId, 'still there?'))).counts).toEqual({ unread: 1 });
    // Bob's own pushers would not see his events: only alice's pusher was ever posted to.
    expect(gateway.received.every((body) => (notificationOf(body).devices as Body[])[0]!.pushkey === 'key-full')).toBe(true);
  });

  it('sends nothing for a message that a dont_notify rule matches', async () => {
    await alice.put('/pushrules/global/override/mute-secrets', {
      actions: ['dont_notify'], conditions: [{ kind: 'event_match', key: 'content.body', pattern: 'secret*' }],
    });
    const muted = await bob.send(roomId, 'secret plans');
    const after = await bob.send(roomId, 'not muted');
    // Events of a room are pushed in order: once the later one arrived, the muted one was passed over.
    await notificationFor(after);
    expect(gateway.received.map(notificationOf).some((notification) => notification.event_id === muted)).toBe(false);
  });

  it('omits the event details and the tweaks for a pusher with format event_id_only, as Synapse', async () => {
    await setPusher('key-full', { format: 'event_id_only' });
    const eventId = await bob.send(roomId, 'short form');
    const notification = await notificationFor(eventId);
    expect(notification).toEqual({
      event_id: eventId, room_id: roomId, prio: 'high', counts: { unread: expect.any(Number) },
      devices: [{ app_id: 'org.example.strata', pushkey: 'key-full', pushkey_ts: expect.any(Number), data: { format: 'event_id_only' } }],
    });
    expect(notification).not.toHaveProperty('content');
  });

  it('sends as pushkey_ts when the pusher was last set, in seconds', async () => {
    await setPusher('key-full', {});
    const pushkeyTs = async (text: string): Promise<number> =>
      ((await notificationFor(await bob.send(roomId, text))).devices as Body[])[0]!.pushkey_ts as number;
    const before = await pushkeyTs('before the update');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const updatedAt = Math.floor(Date.now() / 1000);
    await setPusher('key-full', { extra: 'updated' });
    const after = await pushkeyTs('after the update');
    expect(after).toBeGreaterThan(before);
    expect(after).toBeGreaterThanOrEqual(updatedAt);
    // The list keeps its order: an update is no new pusher.
    expect(((await alice.get('/pushers')).pushers as Body[]).map((pusher) => pusher.pushkey)).toEqual(['key-full']);
  });

  it('sends a badge update, counts and device only, when alice\'s read receipt lowers her badge', async () => {
    await setPusher('key-full', {});
    const eventId = await bob.send(roomId, 'read me anywhere');
    expect(((await notificationFor(eventId)).counts as Body).unread).toBeGreaterThan(0);
    const from = gateway.received.length;
    await alice.post(`/rooms/${e(roomId)}/receipt/m.read/${e(eventId)}`, {});
    const deadline = Date.now() + 15_000;
    let badge: Body | undefined;
    while (badge === undefined) {
      badge = gateway.received.slice(from).map(notificationOf).find((notification) => notification.event_id === undefined);
      if (badge === undefined && Date.now() > deadline) throw new Error('no badge update after the read receipt');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(badge).toEqual({
      counts: { unread: 0 },
      devices: [{ app_id: 'org.example.strata', pushkey: 'key-full', pushkey_ts: expect.any(Number), data: {} }],
    });
  });

  it('names a room without m.room.name as Synapse does: by its members, then by its canonical alias', async () => {
    await setPusher('key-full', {});
    const erin = new MatrixClient(server.url).as(await new MatrixClient(server.url).register('erin'));
    const nameless = await bob.createRoom({ invite: [alice.userId, erin.userId] });
    await alice.post(`/join/${e(nameless)}`);
    await erin.post(`/join/${e(nameless)}`);
    // Bob and Erin besides Alice: "Bob B and erin" (registration names erin after her localpart).
    expect(await notificationFor(await bob.send(nameless, 'who is here?'))).toMatchObject({ room_name: 'Bob B and erin' });
    const alias = `#nameless-${mode}:${server.serverName}`;
    await bob.put(`/directory/room/${e(alias)}`, { room_id: nameless });
    await bob.put(`/rooms/${e(nameless)}/state/m.room.canonical_alias/`, { alias });
    expect(await notificationFor(await bob.send(nameless, 'now with an alias'))).toMatchObject({ room_name: alias, room_alias: alias });
    await alice.post(`/rooms/${e(nameless)}/leave`);
  });

  it('deletes a pusher whose pushkey the gateway rejected', async () => {
    await setPusher('key-full', {});
    gateway.rejecting.add('key-full');
    await notificationFor(await bob.send(roomId, 'are you there?'));
    const deadline = Date.now() + 10_000;
    while (((await alice.get('/pushers')).pushers as Body[]).length > 0) {
      if (Date.now() > deadline) throw new Error('the rejected pusher was not deleted');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await alice.get('/pushers')).pushers).toEqual([]);
  });

  it("sends as counts.unread alice's invites and joined rooms with unread notifications, without ignored users' messages", async () => {
    await setPusher('key-badge', {});
    const client = new MatrixClient(server.url);
    const carol = client.as(await client.register('carol'));
    await alice.post(`/rooms/${e(roomId)}/invite`, { user_id: carol.userId });
    await carol.post(`/join/${e(roomId)}`);
    const teaRead = await bob.send(roomId, 'read this');
    expect((await notificationFor(teaRead)).counts).toEqual({ unread: 1 });
    await alice.post(`/rooms/${e(roomId)}/receipt/m.read/${e(teaRead)}`, {});
    // An invite counts one: Tea is read now.
    const garden = await bob.createRoom({ name: 'Garden' });
    await bob.post(`/rooms/${e(garden)}/invite`, { user_id: alice.userId });
    const [invite] = (await bob.get(`/rooms/${e(garden)}/messages`, { dir: 'b', limit: '1' })).chunk as Body[];
    expect(await notificationFor(invite!.event_id as string)).toMatchObject({ type: 'm.room.member', membership: 'invite', user_is_target: true, counts: { unread: 1 } });
    await alice.post(`/join/${e(garden)}`);
    const inGarden = await bob.send(garden, 'in the garden');
    expect((await notificationFor(inGarden)).counts).toEqual({ unread: 1 });
    expect((await notificationFor(await bob.send(roomId, 'back at tea'))).counts).toEqual({ unread: 2 });

    // Once alice ignores bob, his messages are neither pushed nor counted: Garden, read up to
    // before his new message, no longer counts.
    await alice.post(`/rooms/${e(garden)}/receipt/m.read/${e(inGarden)}`, {});
    await alice.put(`/user/${e(alice.userId)}/account_data/m.ignored_user_list`, { ignored_users: { [bob.userId]: {} } });
    const ignoredInGarden = await bob.send(garden, 'ignored in the garden');
    await bob.syncUntil((sync) => timelineOf(sync, garden).some((event) => event.event_id === ignoredInGarden));
    const ignoredAtTea = await bob.send(roomId, 'ignored at tea');
    const fromCarol = await carol.send(roomId, 'carol at tea');
    expect(await notificationFor(fromCarol)).toMatchObject({ sender: carol.userId, sender_display_name: 'carol', counts: { unread: 1 } });
    // Without a display name, the sender is named by their user id (as Synapse).
    await carol.delete(`/profile/${e(carol.userId)}/displayname`);
    expect(await notificationFor(await carol.send(roomId, 'nameless at tea'))).toMatchObject({ sender_display_name: carol.userId });
    // Nor is his invite (modules/ignore_users.md: "Servers must not send room invites from ignored users to clients").
    // dave, who ignores nobody, is pushed bob's next message in the same room: events of a room
    // are pushed in order, so the invite was passed over by then.
    const dave = client.as(await client.register('dave'));
    await dave.post('/pushers/set', {
      kind: 'http', app_id: 'org.example.strata', app_display_name: 'Strata test', device_display_name: 'Phone',
      pushkey: 'key-dave', lang: 'en', data: { url: gateway.url },
    });
    const shed = await bob.createRoom({ name: 'Shed', invite: [dave.userId] });
    await dave.post(`/join/${e(shed)}`);
    await bob.post(`/rooms/${e(shed)}/invite`, { user_id: alice.userId });
    const [ignoredInvite] = (await bob.get(`/rooms/${e(shed)}/messages`, { dir: 'b', limit: '1' })).chunk as Body[];
    expect(ignoredInvite).toMatchObject({ type: 'm.room.member', state_key: alice.userId });
    await notificationFor(await bob.send(shed, 'for dave'));
    const pushed = gateway.received.map((body) => notificationOf(body).event_id);
    expect([pushed.includes(ignoredInGarden), pushed.includes(ignoredAtTea), pushed.includes(ignoredInvite!.event_id)]).toEqual([false, false, false]);
  });
});
