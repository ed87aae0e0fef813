/** Where a user has read rooms up to, from their own receipts (for /notifications and pushes). */
import type { RoomReadModel } from '../../ports/rooms.ts';
import type { UserData } from '../userData/index.ts';
import { ownReceiptsIn, readUpTo, type ReadUpTo } from './counts.ts';

export interface ReadPositionsContext {
  readonly rooms: Pick<RoomReadModel, 'event'>;
  readonly userData: Pick<UserData, 'streams'>;
}

/** The user's read-up-to offsets per room (-1 where they have no receipt). */
export const readPositions = async (ctx: ReadPositionsContext, userId: string, roomIds: readonly string[]): Promise<Map<string, ReadUpTo>> => {
  const streams = ctx.userData.streams;
  const contents = await streams.receipts.changesSince(userId, roomIds, 0, await streams.receipts.currentPosition());
  const result = new Map<string, ReadUpTo>();
  await Promise.all(roomIds.map(async (roomId) => {
    const content = contents.get(roomId);
    const own = content === undefined ? [] : ownReceiptsIn(userId, content);
    const offsets = new Map<string, number>();
    for (const receipt of own) {
      const event = await ctx.rooms.event(receipt.eventId);
      if (event !== undefined && event.roomId === roomId) offsets.set(receipt.eventId, event.offset);
    }
    result.set(roomId, readUpTo(own, offsets, -1));
  }));
  return result;
};
