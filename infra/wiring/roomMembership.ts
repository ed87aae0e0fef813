/**
 * The user-data layer asks "is this user in that room" and "who shares a room with this user";
 * the rooms read model knows. This adapter answers the first through it.
 */
import type { RoomMembership } from '../../domain/app/userData/index.ts';
import type { RoomReadModel } from '../../domain/app/rooms/index.ts';

const membershipOf = (content: unknown): unknown =>
  typeof content === 'object' && content !== null ? (content as Record<string, unknown>).membership : undefined;

export const roomMembershipOf = (rooms: RoomReadModel): RoomMembership => ({
  async isJoined(roomId, userId) {
    const member = await rooms.stateEvent(roomId, 'm.room.member', userId);
    return member !== undefined && membershipOf(member.pdu.content) === 'join';
  },
  async usersSharingRoomsWith(userId) {
    const users = new Set<string>([userId]);
    for (const roomId of await rooms.roomsWithMembership(userId, ['join'])) {
      for (const member of await rooms.members(roomId)) {
        if (member.stateKey !== null && membershipOf(member.pdu.content) === 'join') users.add(member.stateKey);
      }
    }
    return users;
  },
});
