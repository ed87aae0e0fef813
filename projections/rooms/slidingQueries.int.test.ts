// The rooms read model's summaries (schema version 4) and the sliding sync room list read from them,
// on PGlite and real PostgreSQL, fed by the real decider through the room writer.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOM_EVENTS_TOPIC, type JsonObject, type MembershipOutOfBand } from '../../domain/index.ts';
import type { RoomRequester } from '../../domain/app/rooms/index.ts';
import { readModelBackends, startRoomsStack, type ReadModelBackend, type RoomsStack } from '../../test/harness/index.ts';
import { rebuildProjection } from '../runtime/index.ts';
import { roomsProjection } from './projection.ts';
import { createSlidingRoomQueries } from './slidingQueries.ts';

const alice: RoomRequester = { userId: '@alice:example.org', deviceId: 'A' };
const bob: RoomRequester = { userId: '@bob:example.org', deviceId: 'B' };

const backends = readModelBackends('sliding_test');

describe.each(Object.entries(backends))('sliding sync room summaries on %s', (_name, backend) => {
  let opened: Awaited<ReturnType<ReadModelBackend['open']>>;
  let stack: RoomsStack;
  beforeEach(async () => {
    opened = await backend.open();
    stack = await startRoomsStack({ db: opened.db });
  });
  afterEach(async () => {
    await stack.close();
    await opened.drop();
  });

  it('keeps name, avatar, alias, encryption, counts and bump stamp per room, and sorts a user\'s rooms by activity', async () => {
    const { rooms } = stack;
    const sliding = createSlidingRoomQueries(opened.db);
    const { roomId: older } = await rooms.createRoom(alice, { name: 'Older', preset: 'public_chat' });
    const { roomId: newer } = await rooms.createRoom(alice, { preset: 'public_chat', creation_content: { type: 'm.space' } });
    await rooms.putState(alice, newer, 'm.room.avatar', '', { url: 'mxc://example.org/a' });
    await rooms.putState(alice, newer, 'm.room.encryption', '', { algorithm: 'm.megolm.v1.aes-sha2' });
    await rooms.putState(alice, newer, 'm.room.canonical_alias', '', {});
    await rooms.join(bob, older);
    await rooms.invite(alice, newer, bob.userId);

    let list = await sliding.userRooms(alice.userId);
    expect(list.map((room) => room.roomId)).toEqual([newer, older]);
    expect(list[0]).toMatchObject({
      membership: 'join', roomType: 'm.space', encrypted: true, name: null, avatar: 'mxc://example.org/a', canonicalAlias: null,
      joinedCount: 1, invitedCount: 1, membershipSender: alice.userId,
    });
    expect(list[1]).toMatchObject({ name: 'Older', roomType: null, encrypted: false, joinedCount: 2, invitedCount: 0 });
    // Membership and topic changes are not activity; a message is.
    const before = list[1]!.bumpStamp;
    await rooms.putState(alice, older, 'm.room.topic', '', { topic: 't' });
    expect((await sliding.userRooms(alice.userId))[1]!.bumpStamp).toBe(before);
    await rooms.sendMessage(bob, older, 'm.room.message', 'm1', { msgtype: 'm.text', body: 'hi' });
    list = await sliding.userRooms(alice.userId);
    expect(list.map((room) => room.roomId)).toEqual([older, newer]);
    expect(list[0]!.bumpStamp).toBeGreaterThanOrEqual(before);

    // An invited user's room sorts by their invite; its summary is the room's.
    const bobs = await sliding.userRooms(bob.userId);
    expect(bobs.map((room) => [room.roomId, room.membership])).toEqual([[older, 'join'], [newer, 'invite']]);
    // A redacted name no longer names the room.
    const nameEvent = (await stack.queries.stateEvent(older, 'm.room.name', ''))!;
    await rooms.redact(alice, older, nameEvent.eventId, 'r1');
    expect((await sliding.userRooms(alice.userId)).find((room) => room.roomId === older)!.name).toBeNull();
    // Leaving: the counts follow, and the leaver's row sorts by their leave.
    await rooms.leave(bob, older);
    const left = (await sliding.userRooms(bob.userId)).find((room) => room.roomId === older)!;
    expect([left.membership, left.membershipSender, left.joinedCount]).toEqual(['leave', bob.userId, 1]);

    // The summaries are a fold of the log: a rebuild answers the same.
    const summaries = await sliding.userRooms(alice.userId);
    await stack.projection.stop();
    await rebuildProjection({ projection: roomsProjection, log: stack.log, db: opened.db });
    expect(await sliding.userRooms(alice.userId)).toEqual(summaries);
  });

  it('summarises a room we are not in from the stripped state of the invite to it', async () => {
    const sliding = createSlidingRoomQueries(opened.db);
    const roomId = '!far:them.test';
    const invite: MembershipOutOfBand = {
      type: 'membership.outOfBand', v: 1, roomId, roomVersion: '10', eventId: '$far-invite',
      pdu: {
        type: 'm.room.member', state_key: bob.userId, sender: '@carol:them.test', content: { membership: 'invite' },
        room_id: roomId, origin_server_ts: 1, depth: 5, prev_events: [], auth_events: [],
      },
      strippedState: [
        { type: 'm.room.create', state_key: '', sender: '@carol:them.test', content: { type: 'm.space', room_version: '10' } },
        { type: 'm.room.name', state_key: '', sender: '@carol:them.test', content: { name: 'Far away' } },
        { type: 'm.room.encryption', state_key: '', sender: '@carol:them.test', content: { algorithm: 'm.megolm.v1.aes-sha2' } },
      ],
      receivedAt: 1,
    };
    await stack.log.append(ROOM_EVENTS_TOPIC, [{ key: roomId, value: invite as unknown as JsonObject }]);
    const deadline = Date.now() + 15_000;
    let far = (await sliding.userRooms(bob.userId)).find((room) => room.roomId === roomId);
    while (far === undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      far = (await sliding.userRooms(bob.userId)).find((room) => room.roomId === roomId);
    }
    expect(far).toMatchObject({
      membership: 'invite', membershipSender: '@carol:them.test', roomType: 'm.space', name: 'Far away', encrypted: true, invitedCount: 1,
    });
  });

  it('answers the children a space names with a via', async () => {
    const { rooms } = stack;
    const sliding = createSlidingRoomQueries(opened.db);
    const { roomId: space } = await rooms.createRoom(alice, { creation_content: { type: 'm.space' } });
    const { roomId: child } = await rooms.createRoom(alice, {});
    const { roomId: withoutVia } = await rooms.createRoom(alice, {});
    await rooms.putState(alice, space, 'm.space.child', child, { via: ['example.org'] });
    await rooms.putState(alice, space, 'm.space.child', withoutVia, {});
    expect(await sliding.spaceChildren([space])).toEqual(new Map([[space, new Set([child])]]));
    expect(await sliding.spaceChildren([])).toEqual(new Map());
  });
});
