/**
 * Which part of a room's timeline a user may read (client-server-api § History visibility).
 * Simplification: the room's current `history_visibility` is applied to the whole timeline, not
 * the value in force at each event. A user who was never joined (or invited, for "invited") sees
 * nothing unless the room is world_readable; one who left sees up to and including their leave.
 */
import { isJsonObject } from '../../json.ts';
import { forbidden } from './common.ts';
import type { RoomsContext } from './context.ts';

export interface VisibilityWindow {
  readonly minOffset?: number;
  readonly maxOffset?: number;
  /** True while the user is joined: they see the current state. */
  readonly joined: boolean;
}

export const historyVisibility = async (ctx: RoomsContext, roomId: string): Promise<string> => {
  const content = (await ctx.rooms.stateEvent(roomId, 'm.room.history_visibility', ''))?.pdu.content;
  const value = isJsonObject(content) ? content.history_visibility : undefined;
  return typeof value === 'string' ? value : 'shared';
};

export const visibilityWindow = async (ctx: RoomsContext, roomId: string, userId: string): Promise<VisibilityWindow> => {
  const [visibility, history] = await Promise.all([historyVisibility(ctx, roomId), ctx.rooms.membershipHistory(roomId, userId)]);
  const current = history[history.length - 1];
  const joined = current?.membership === 'join';
  if (visibility === 'world_readable') return { joined };
  const firstJoin = history.findIndex((change) => change.membership === 'join');
  if (firstJoin < 0) throw forbidden(`${userId} is not in room ${roomId}`);
  let minOffset: number | undefined;
  if (visibility === 'joined') minOffset = history[firstJoin]!.offset;
  if (visibility === 'invited') {
    const invite = history.slice(0, firstJoin).findLast((change) => change.membership === 'invite');
    minOffset = (invite ?? history[firstJoin]!).offset;
  }
  if (joined) return minOffset === undefined ? { joined } : { joined, minOffset };
  // Up to the change that ended the last join.
  const lastJoin = history.findLastIndex((change) => change.membership === 'join');
  const maxOffset = history[lastJoin + 1]!.offset;
  return minOffset === undefined ? { joined, maxOffset } : { joined, minOffset, maxOffset };
};

export const canSee = (window: VisibilityWindow, offset: number): boolean =>
  (window.minOffset === undefined || offset >= window.minOffset) && (window.maxOffset === undefined || offset <= window.maxOffset);
