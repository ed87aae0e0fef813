// Pushes for invites from other servers (client-server-api/modules/push.md; server-server-api
// § Inviting to a room v2), in both deployments: an invite of Alice into a room of the fake remote
// server's, which Strata is not in, reaches her push gateway as Synapse pushes such an invite — the
// room's name and the inviter's display name from the invite's stripped state, the badge counting
// the invite — and an invite from a user she ignores is not pushed. The stage is
// test/harness/hostileRoom.ts; a recording push gateway runs in the test.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashAndSignEvent, referenceHashEventId, roomVersionRules, type JsonObject } from '../../domain/index.ts';
import { e, type Body, type ServerMode } from '../harness/index.ts';
import { startHostileRoom, type HostileRoom } from '../harness/hostileRoom.ts';

const NOTIFY_PATH = '/_matrix/push/v1/notify';

describe.each<ServerMode>(['embedded', 'distributed'])('pushes for remote invites (%s)', (mode) => {
  let h: HostileRoom;
  let gateway: Server;
  let gatewayUrl: string;
  const received: Body[] = [];
  const v10 = roomVersionRules('10')!;
  let rooms = 0;

  /** Mallory (or another user of the fake server) invites Alice into a new room of the fake server's. */
  const inviteAlice = async (sender: string, displayName: string, roomId = `!pushed${++rooms}:${h.remote.serverName}`): Promise<{ roomId: string; eventId: string }> => {
    const event = hashAndSignEvent({
      room_id: roomId, sender, type: 'm.room.member', state_key: h.alice.userId, content: { membership: 'invite' },
      origin: h.remote.serverName, origin_server_ts: Date.now(), depth: 3, prev_events: [], auth_events: [],
    }, v10, h.remote.key);
    const eventId = referenceHashEventId(event, v10);
    const answer = await h.remote.request('PUT', `/_matrix/federation/v2/invite/${e(roomId)}/${e(eventId)}`, {
      room_version: '10', event,
      invite_room_state: [
        { type: 'm.room.name', state_key: '', sender, content: { name: 'Over there' } },
        { type: 'm.room.member', state_key: sender, sender, content: { membership: 'join', displayname: displayName } },
      ],
    } as JsonObject);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return { roomId, eventId };
  };

  const pushOf = async (eventId: string): Promise<Body> => {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = received.find((body) => body.notification?.event_id === eventId);
      if (found !== undefined) return found.notification as Body;
      if (Date.now() > deadline) throw new Error(`no push for ${eventId}: ${JSON.stringify(received)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    gateway = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.method === 'POST' && request.url === NOTIFY_PATH) received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Body);
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rejected: [] }));
      });
    });
    await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
    gatewayUrl = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}${NOTIFY_PATH}`;
    h = await startHostileRoom(mode);
    await h.alice.post('/pushers/set', {
      kind: 'http', app_id: 'org.example.strata', pushkey: 'alice-key', app_display_name: 'Strata', device_display_name: 'Phone',
      lang: 'en', data: { url: gatewayUrl },
    });
  }, 120_000);
  afterAll(async () => {
    await h?.stop();
    await new Promise<void>((resolve) => {
      gateway?.closeAllConnections();
      gateway?.close(() => resolve());
    });
  });

  it('pushes an invite into a room Strata is not in, named from its stripped state', async () => {
    const { roomId, eventId } = await inviteAlice(h.mallory.userId, 'Mallory M');
    expect(await pushOf(eventId)).toEqual({
      event_id: eventId, room_id: roomId, type: 'm.room.member', sender: h.mallory.userId, membership: 'invite', user_is_target: true,
      sender_display_name: 'Mallory M', room_name: 'Over there', content: { membership: 'invite' },
      // .m.rule.invite_for_me: notify with the default sound; the invite is the badge's one.
      prio: 'high', counts: { unread: 1 },
      devices: [{ app_id: 'org.example.strata', pushkey: 'alice-key', pushkey_ts: expect.any(Number), data: {}, tweaks: { sound: 'default' } }],
    });
  });

  it('does not push an invite from a user Alice ignores', async () => {
    const pest = `@pest:${h.remote.serverName}`;
    await h.alice.put(`/user/${e(h.alice.userId)}/account_data/m.ignored_user_list`, { ignored_users: { [pest]: {} } });
    const ignored = await inviteAlice(pest, 'Pest');
    // An invite from someone else into the same room after it is pushed: in the room's order, the
    // ignored one was passed over by then.
    const after = await inviteAlice(h.mallory.userId, 'Mallory M', ignored.roomId);
    await pushOf(after.eventId);
    expect(received.some((body) => body.notification?.event_id === ignored.eventId)).toBe(false);
  });
});
