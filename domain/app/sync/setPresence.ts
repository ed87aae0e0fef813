/**
 * `set_presence` (sync.yaml): polling marks the user online (or unavailable) unless they already
 * are; `offline` leaves their presence alone.
 */
import type { SyncContext, SyncRequester } from './context.ts';
import type { SyncMemo } from './memo.ts';

/**
 * Marks the user `presence` unless they are already in that state (no stream churn per poll). The
 * state seen is remembered with the presence stream position it was seen at: while the stream stays
 * there, nobody changed it, and the read is skipped. Without a position nothing is remembered.
 * Answers whether it changed the presence.
 */
export const updatePresence = async (
  ctx: SyncContext, requester: SyncRequester, presence: string, position: number | undefined, memo: SyncMemo | undefined,
): Promise<boolean> => {
  const { userId } = requester;
  const known = memo?.presence.get(userId);
  if (known !== undefined && known.presence === presence && known.position === position) return false;
  const current = await ctx.userData.getPresence(requester, userId).catch(() => undefined);
  if (current?.presence === presence) {
    if (position !== undefined) memo?.presence.set(userId, { presence, position });
    return false;
  }
  memo?.presence.delete(userId);
  await ctx.userData.setPresence(requester, userId, { presence });
  return true;
};
