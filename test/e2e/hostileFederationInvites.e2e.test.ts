// Invites from a hostile federation peer (server-server-api § Inviting to a room v2,
// `PUT /_matrix/federation/v2/invite/{roomId}/{eventId}`) to a room Strata is not in. In room
// versions 1 and 2 the origin chooses the event id, and an id naming another server needs that
// server's signature (§ Validating hashes and signatures on received events): an invite whose id
// claims Strata's domain — here the id of one of Alice's own messages — is refused, and whatever
// the answer, Alice's message and her /sync are untouched. An ordinary invite still reaches her,
// and wakes her long-polling /sync.
// The stage is test/harness/hostileRoom.ts. Both deployments.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashAndSignEvent, roomVersionRules, type JsonObject, type Pdu } from '../../domain/index.ts';
import { e, inviteStateOf, type Body, type ServerMode } from '../harness/index.ts';
import { startHostileRoom, type HostileRoom } from '../harness/hostileRoom.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('invites of a hostile federation peer (%s)', (mode) => {
  let h: HostileRoom;
  const v1 = roomVersionRules('1')!;
  let room = 0;

  /** A v1 invite of Alice into a room of the fake server's, with the event id given. */
  const invite = (eventId: string): { roomId: string; event: Pdu } => {
    const roomId = `!elsewhere${++room}:${h.remote.serverName}`;
    const event = hashAndSignEvent({
      event_id: eventId, room_id: roomId, sender: h.mallory.userId, type: 'm.room.member', state_key: h.alice.userId,
      content: { membership: 'invite' }, origin: h.remote.serverName, origin_server_ts: Date.now(), depth: 3, prev_events: [], auth_events: [],
    }, v1, h.remote.key);
    return { roomId, event };
  };
  const send = (roomId: string, eventId: string, event: Pdu) => h.remote.request('PUT', `/_matrix/federation/v2/invite/${e(roomId)}/${e(eventId)}`, {
    room_version: '1', event, invite_room_state: [{ type: 'm.room.name', state_key: '', sender: h.mallory.userId, content: { name: 'Come in' } }],
  } as JsonObject);

  beforeAll(async () => {
    h = await startHostileRoom(mode);
  }, 120_000);
  afterAll(() => h?.stop());

  it('takes an ordinary invite to a v1 room of the fake server: Alice sees it', async () => {
    const start = (await h.alice.sync({ timeout: 0 })).next_batch as string;
    const eventId = `$ordinary:${h.remote.serverName}`;
    const { roomId, event } = invite(eventId);
    expect((await send(roomId, eventId, event)).status).toBe(200);
    // The invite is recorded before the answer: an immediate /sync shows it.
    const sync = await h.alice.sync({ since: start, timeout: 0 });
    expect(inviteStateOf(sync, roomId)).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'm.room.name', content: { name: 'Come in' } })]));
  });

  it('wakes Alice\'s long-polling /sync with a remote invite at once', async () => {
    const start = (await h.alice.sync({ timeout: 0 })).next_batch as string;
    const polling = h.alice.sync({ since: start, timeout: 8_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const eventId = `$wake:${h.remote.serverName}`;
    const { roomId, event } = invite(eventId);
    const sent = Date.now();
    expect((await send(roomId, eventId, event)).status).toBe(200);
    const sync = await polling;
    expect(inviteStateOf(sync, roomId), 'the long-poll ended without the invite').toBeDefined();
    expect(Date.now() - sent, 'the long-poll was not woken by the invite').toBeLessThan(3_000);
  });

  it('refuses an invite whose event id claims Strata\'s domain without its signature (the id of Alice\'s message)', async () => {
    const old = await h.alice.createRoom({ preset: 'private_chat', room_version: '1' });
    const message = await h.alice.send(old, 'old but mine');
    expect(message.endsWith(`:${h.server.serverName}`)).toBe(true);
    const { roomId, event } = invite(message);
    const answer = await send(roomId, message, event);
    expect((await h.alice.request('GET', '/sync', { query: { timeout: 0 } })).status, 'Alice\'s /sync fails').toBe(200);
    expect(await h.alice.get(`/rooms/${e(old)}/event/${e(message)}`)).toMatchObject({ room_id: old, type: 'm.room.message', content: { body: 'old but mine' } });
    const page = await h.alice.get(`/rooms/${e(old)}/messages`, { dir: 'b', limit: 5 });
    expect((page.chunk as Body[]).find((event) => event.event_id === message)).toMatchObject({ content: { body: 'old but mine' } });
    expect(answer.status, `the forged invite was taken: ${JSON.stringify(answer.body)}`).toBe(403);
  });
});
