/**
 * `unread_notifications` counts, remembered between syncs (see countUnread): a client that never
 * sends a read receipt would otherwise have its whole history since joining counted on every sync.
 */
import type { SyncContext } from './context.ts';

export interface Counts {
  readonly notifications: number;
  readonly highlights: number;
}

/** Per `user\0room`: the counts of (after, to) for these names, least recently used dropped first. */
export type UnreadCounts = Map<string, { readonly after: number; readonly names: string; readonly to: number; readonly counts: Counts }>;
const MAX_UNREAD_COUNTS = 100_000;

/** Whether a redaction landed in [from, to): it may have struck an event counted before. */
const redactionBetween = async (ctx: SyncContext, roomId: string, from: number, to: number): Promise<boolean> =>
  (await ctx.rooms.messages(roomId, { dir: 'b', from: to, to: from, limit: 1, filter: { types: ['m.room.redaction'] } })).length > 0;

/**
 * The counts of (after, to). Counting the whole window on every sync costs as much as the history
 * since the user's receipt; an earlier count of (after, cachedTo) is extended by the events from
 * cachedTo instead. Only a redaction changes an event already counted, so one in the new events
 * (or a different `after` or names) means counting afresh.
 */
export const countUnread = async (
  ctx: SyncContext, roomId: string, userId: string, after: number, to: number, names: readonly string[], cache: UnreadCounts | undefined,
): Promise<Counts> => {
  const key = `${userId}\u0000${roomId}`;
  const namesKey = names.join('\u0000');
  const cached = cache?.get(key);
  const none: Counts = { notifications: 0, highlights: 0 };
  let counts: Counts | undefined;
  if (cached !== undefined && cached.after === after && cached.names === namesKey && cached.to <= to) {
    const from = Math.max(after, cached.to - 1);
    // The new events are counted while the redaction check runs; a redaction discards the sum.
    const [redacted, more] = cached.to === to ? [false, none] : await Promise.all([
      redactionBetween(ctx, roomId, cached.to, to), ctx.sync.notificationCounts(roomId, userId, from, to, names),
    ]);
    const base = from === after ? none : cached.counts;
    if (!redacted) counts = { notifications: base.notifications + more.notifications, highlights: base.highlights + more.highlights };
  }
  counts ??= await ctx.sync.notificationCounts(roomId, userId, after, to, names);
  if (cache !== undefined) {
    cache.delete(key);
    cache.set(key, { after, names: namesKey, to, counts });
    if (cache.size > MAX_UNREAD_COUNTS) cache.delete(cache.keys().next().value!);
  }
  return counts;
};
