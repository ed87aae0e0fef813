/**
 * The room DAG as the rooms read model holds it, for federation: events by id whatever their place
 * (timeline or outlier), and the state after an event. The room writer checks remote events against
 * it; the federation read endpoints (/event, /state, /backfill, …) answer from it.
 */
import type { StateMap } from '../events/index.ts';
import type { StoredEvent } from './rooms.ts';

export interface RoomEventGraph {
  /** The events this server holds of these ids (accepted or outliers; never rejected ones), in no particular order. */
  eventsByIds(eventIds: readonly string[]): Promise<StoredEvent[]>;
  /**
   * The room state after an accepted event: the room's state at the event's log offset, with the
   * event's `stateAfterDelta` applied (records.ts). Undefined for an unknown event or an outlier.
   */
  stateAfterEvent(eventId: string): Promise<StateMap | undefined>;
}
