// Every member of a room long-polling /sync with a message filter (issue 15's shape): one commit
// wakes them together and they share the room's timeline read (domain/app/sync/sharedReads.ts), yet
// each gets its own answer — the message once, the sender's transaction id only on the sending
// device, the unread counts of its own user, history visibility of its own membership.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer } from '../harness/index.ts';
import { syncTestClient, V3, type SyncSession, type SyncTestClient } from '../harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('listeners of one room (%s)', (mode) => {
  let server: TestServer;
  let ok: SyncTestClient['ok'];
  let members: SyncSession[];
  let roomId: string;

  const filterFor = async (who: SyncSession): Promise<string> =>
    (await ok('POST', `${V3}/user/${e(who.userId)}/filter`, who.token, {
      presence: { not_types: ['*'] }, account_data: { not_types: ['*'] },
      room: {
        rooms: [roomId], timeline: { types: ['m.room.message'], limit: 1000 },
        state: { not_types: ['*'] }, ephemeral: { not_types: ['*'] }, account_data: { not_types: ['*'] },
      },
    })).filter_id as string;
  const sync = (who: SyncSession, filter: string, since?: string, timeout = 0): Promise<Body> =>
    ok('GET', `${V3}/sync?filter=${filter}&timeout=${timeout}${since === undefined ? '' : `&since=${since}`}`, who.token);

  beforeAll(async () => {
    server = await startTestServer({ mode });
    ({ ok } = syncTestClient(new MatrixClient(server.url)));
    members = [];
    for (const name of ['ann', 'ben', 'cat', 'dan']) members.push(await syncTestClient(new MatrixClient(server.url)).register(name));
    roomId = (await ok('POST', `${V3}/createRoom`, members[0]!.token, { preset: 'public_chat' })).room_id as string;
    for (const member of members.slice(1)) await ok('POST', `${V3}/join/${e(roomId)}`, member.token, {});
  });
  afterAll(() => server?.stop());

  it('wakes every listener with the message, each with its own view of it', async () => {
    const filters = await Promise.all(members.map(filterFor));
    const positions = await Promise.all(members.map(async (member, i) => (await sync(member, filters[i]!)).next_batch as string));
    const polls = members.map((member, i) => sync(member, filters[i]!, positions[i], 20_000));
    const sender = members[1]!;
    const eventId = (await ok('PUT', `${V3}/rooms/${e(roomId)}/send/m.room.message/shared-1`, sender.token,
      { msgtype: 'm.text', body: 'to all four' })).event_id as string;
    const answers = await Promise.all(polls);
    answers.forEach((answer, i) => {
      const room = answer.rooms.join[roomId];
      const events = room.timeline.events as Body[];
      expect(events.map((event) => event.event_id)).toEqual([eventId]);
      expect(events[0]!.content.body).toBe('to all four');
      // The transaction id belongs to the sending device's copy alone.
      expect(events[0]!.unsigned?.transaction_id).toBe(members[i] === sender ? 'shared-1' : undefined);
      expect(room.timeline.limited).toBe(false);
      expect(room.unread_notifications.notification_count).toBe(members[i] === sender ? 0 : 1);
      expect(room.state?.events ?? []).toEqual([]);
    });

    // The next long-polls, from each listener's own position, see the next message and nothing twice.
    const next = members.map((member, i) => sync(member, filters[i]!, answers[i]!.next_batch as string, 20_000));
    const second = (await ok('PUT', `${V3}/rooms/${e(roomId)}/send/m.room.message/shared-2`, members[3]!.token,
      { msgtype: 'm.text', body: 'again' })).event_id as string;
    for (const answer of await Promise.all(next)) {
      expect((answer.rooms.join[roomId].timeline.events as Body[]).map((event) => event.event_id)).toEqual([second]);
    }
  });
});
