// Sliding sync and invites from other servers, in both deployments: an invite into a room of the
// fake remote server's, which Strata is not in, is listed with the inviting server's stripped state
// and filtered on what that state says (its type, its encryption), as Synapse does; an invite from
// an ignored user is not shown. The stage is test/harness/hostileRoom.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashAndSignEvent, referenceHashEventId, roomVersionRules, type JsonObject } from '../../domain/index.ts';
import { e, type Body, type ServerMode } from '../harness/index.ts';
import { startHostileRoom, type HostileRoom } from '../harness/hostileRoom.ts';

const UNSTABLE = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';

describe.each<ServerMode>(['embedded', 'distributed'])('sliding sync of remote invites (%s)', (mode) => {
  let h: HostileRoom;
  const v10 = roomVersionRules('10')!;

  /** A user of the fake server invites Alice into a room of its own, described by `state`. */
  const inviteAlice = async (sender: string, roomId: string, state: JsonObject[]): Promise<string> => {
    const event = hashAndSignEvent({
      room_id: roomId, sender, type: 'm.room.member', state_key: h.alice.userId, content: { membership: 'invite' },
      origin: h.remote.serverName, origin_server_ts: Date.now(), depth: 3, prev_events: [], auth_events: [],
    }, v10, h.remote.key);
    const eventId = referenceHashEventId(event, v10);
    const answer = await h.remote.request('PUT', `/_matrix/federation/v2/invite/${e(roomId)}/${e(eventId)}`, {
      room_version: '10', event, invite_room_state: state,
    } as JsonObject);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return eventId;
  };
  const slide = (body: Body): Promise<Body> => h.alice.post(UNSTABLE, body);
  const list = (filters: Body): Body => ({ ranges: [[0, 20]], timeline_limit: 1, required_state: [], filters });
  const idsOf = (answer: Body, name: string): string[] => answer.lists[name].ops[0]?.room_ids ?? [];

  beforeAll(async () => {
    h = await startHostileRoom(mode);
  }, 120_000);
  afterAll(() => h?.stop());

  it('lists a remote invite with its stripped state and filters it on the room type and encryption that state gives', async () => {
    const sender = h.mallory.userId;
    const space = `!space:${h.remote.serverName}`;
    const secret = `!secret:${h.remote.serverName}`;
    await inviteAlice(sender, space, [
      { type: 'm.room.create', state_key: '', sender, content: { room_version: '10', type: 'm.space' } },
      { type: 'm.room.name', state_key: '', sender, content: { name: 'Far space' } },
    ]);
    await inviteAlice(sender, secret, [
      { type: 'm.room.name', state_key: '', sender, content: { name: 'Far secret' } },
      { type: 'm.room.encryption', state_key: '', sender, content: { algorithm: 'm.megolm.v1.aes-sha2' } },
    ]);
    const answer = await slide({
      lists: {
        invites: list({ is_invite: true }),
        spaces: list({ is_invite: true, room_types: ['m.space'] }),
        rooms: list({ is_invite: true, not_room_types: ['m.space'] }),
        encrypted: list({ is_invite: true, is_encrypted: true }),
      },
    });
    expect(idsOf(answer, 'invites').sort()).toEqual([secret, space].sort());
    expect(idsOf(answer, 'spaces')).toEqual([space]);
    expect(idsOf(answer, 'rooms')).toEqual([secret]);
    expect(idsOf(answer, 'encrypted')).toEqual([secret]);
    const shown = answer.rooms[space];
    expect(shown.initial).toBe(true);
    expect(shown.invite_state.find((event: Body) => event.type === 'm.room.name')?.content).toEqual({ name: 'Far space' });
    const invite = shown.invite_state.find((event: Body) => event.type === 'm.room.member' && event.state_key === h.alice.userId);
    expect([invite?.sender, invite?.content.membership]).toEqual([sender, 'invite']);
  });

  it('does not show an invite from a user Alice ignores', async () => {
    const ignored = `@ignored:${h.remote.serverName}`;
    await h.alice.put(`/user/${e(h.alice.userId)}/account_data/m.ignored_user_list`, { ignored_users: { [ignored]: {} } });
    const roomId = `!ignored:${h.remote.serverName}`;
    await inviteAlice(ignored, roomId, [{ type: 'm.room.name', state_key: '', sender: ignored, content: { name: 'Spam' } }]);
    const answer = await slide({ lists: { invites: list({ is_invite: true }) } });
    expect(idsOf(answer, 'invites')).not.toContain(roomId);
    expect(answer.rooms[roomId]).toBeUndefined();
    // Nor through a subscription.
    const subscribed = await slide({ room_subscriptions: { [roomId]: { timeline_limit: 1, required_state: [] } } });
    expect(subscribed.rooms[roomId]).toBeUndefined();
  });
});
