// A real client library against Strata: two matrix-js-sdk clients (no crypto) on an embedded-mode
// server. alice creates a room and invites bob; bob's sync loop sees the invite and joins; alice's
// message reaches bob's sync loop as a live timeline event.
import {
  ClientEvent, KnownMembership, RoomEvent, RoomMemberEvent,
  type MatrixClient as SdkClient, type MatrixEvent, type Room, type RoomMember,
} from 'matrix-js-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, quietSdkRootLogger, recordingSdkLogger, sdkClientFor, startSyncing, startTestServer, waitForEmit, type TestServer } from '../harness/index.ts';

describe('matrix-js-sdk clients against Strata (embedded)', () => {
  let server: TestServer;
  let alice: SdkClient;
  let bob: SdkClient;
  const logger = recordingSdkLogger();

  beforeAll(async () => {
    quietSdkRootLogger();
    server = await startTestServer({ mode: 'embedded' });
    const http = new MatrixClient(server.url);
    alice = sdkClientFor(server.url, await http.register('alice'), logger);
    bob = sdkClientFor(server.url, await http.register('bob'), logger);
    await Promise.all([startSyncing(alice), startSyncing(bob)]);
  });
  afterAll(async () => {
    alice?.stopClient();
    bob?.stopClient();
    await server?.stop();
  });

  it('delivers an invite, a join and a message through the SDKs’ sync loops', async () => {
    const bobId = bob.getUserId()!;
    const { room_id: roomId } = await alice.createRoom({ name: 'SDK room' });

    // bob's sync loop: the room appears (ClientEvent.Room) with his membership an invite (RoomMember).
    const roomSeen = waitForEmit<[Room]>(bob, ClientEvent.Room, (room) => room.roomId === roomId, 'bob to see the room');
    const invited = waitForEmit<[MatrixEvent, RoomMember]>(bob, RoomMemberEvent.Membership,
      (_event, member) => member.roomId === roomId && member.userId === bobId && member.membership === KnownMembership.Invite,
      'bob to see his invite');
    await alice.invite(roomId, bobId);
    await roomSeen;
    const [inviteEvent] = await invited;
    expect(inviteEvent.getSender()).toBe(alice.getUserId());
    expect(bob.getRoom(roomId)?.getMyMembership()).toBe(KnownMembership.Invite);
    expect(bob.getRoom(roomId)?.name).toBe('SDK room');

    const joined = waitForEmit<[Room, string]>(bob, RoomEvent.MyMembership,
      (room, membership) => room.roomId === roomId && membership === KnownMembership.Join, 'bob to have joined');
    await bob.joinRoom(roomId);
    await joined;

    const received = waitForEmit<[MatrixEvent, Room | undefined, boolean | undefined]>(bob, RoomEvent.Timeline,
      (event, room, toStartOfTimeline) =>
        room?.roomId === roomId && toStartOfTimeline !== true && event.getType() === 'm.room.message',
      'alice’s message in bob’s timeline');
    const { event_id: eventId } = await alice.sendTextMessage(roomId, 'hello from alice');
    const [message] = await received;
    expect(message.getId()).toBe(eventId);
    expect(message.getSender()).toBe(alice.getUserId());
    expect(message.getContent()).toEqual({ msgtype: 'm.text', body: 'hello from alice' });
    expect(bob.getRoom(roomId)?.getJoinedMembers().map((member) => member.userId).sort()).toEqual([alice.getUserId(), bobId].sort());
    expect(logger.problems.filter((line) => line.startsWith('error'))).toEqual([]);
  });
});
