/**
 * The edge of a room's history as this server holds it, for backfilling from other servers
 * (server-server-api § Backfilling): the earliest timeline events and which events are in the
 * timeline (an outlier — a state event a join brought — is not).
 */
import type { StoredEvent } from './rooms.ts';

export interface BackfillReadModel {
  /** The room's earliest timeline events (lowest positions first), at most `limit`. */
  earliestEvents(roomId: string, limit: number): Promise<StoredEvent[]>;
  /** Which of these ids are timeline events (accepted or backfilled, not outliers). */
  timelineEventIds(eventIds: readonly string[]): Promise<ReadonlySet<string>>;
}
