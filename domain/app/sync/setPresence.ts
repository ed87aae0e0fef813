/**
 * `set_presence` (sync.yaml): each /sync request reports it to userData's presence tracker, which
 * marks the user online (or unavailable), keeps them connected while the long-poll lasts and times
 * them out afterwards (userData/presenceTracker.ts); `offline` leaves their presence alone.
 */
import type { PresenceState } from '../../ports/userData.ts';
import type { SyncContext, SyncRequester } from './context.ts';

/** Answers whether it changed the stored presence (the change then belongs in this response). */
export const updatePresence = (ctx: SyncContext, requester: SyncRequester, presence: string, until: number): Promise<boolean> =>
  ctx.userData.presence.synced(requester.userId, presence as PresenceState['presence'], until);
