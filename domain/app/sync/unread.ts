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
    // A redaction among the new events (it may have struck one counted before) discards the sum.
    // When `from` is `after`, nothing earlier is reused, so the redactions of (after, to) suffice.
    const more = cached.to === to ? { ...none, redactions: 0 } : await ctx.sync.notificationCounts(roomId, userId, from, to, names);
    const base = from === after ? none : cached.counts;
    if (more.redactions === 0) counts = { notifications: base.notifications + more.notifications, highlights: base.highlights + more.highlights };
  }
  if (counts === undefined) {
    const fresh = await ctx.sync.notificationCounts(roomId, userId, after, to, names);
    counts = { notifications: fresh.notifications, highlights: fresh.highlights };
  }
  if (cache !== undefined) {
    cache.delete(key);
    cache.set(key, { after, names: namesKey, to, counts });
    if (cache.size > MAX_UNREAD_COUNTS) cache.delete(cache.keys().next().value!);
  }
  return counts;
};
