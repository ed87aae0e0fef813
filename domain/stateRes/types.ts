import type { RoomEvent, StateMap } from '../events/index.ts';

/** What every state resolution algorithm gets: the forks' states and a synchronous event loader. */
export interface StateResInput {
  readonly stateSets: readonly StateMap[];
  /** Loads an event by id (all events of the state sets and their auth chains are loadable). */
  readonly getEvent: (eventId: string) => RoomEvent | undefined;
  /**
   * Whether an event was rejected (failed auth against its auth chain or the state before it).
   * Iterative auth checks skip rejected auth events when falling back to an event's auth_events.
   * Defaults to "none rejected".
   */
  readonly isRejected?: (eventId: string) => boolean;
}

export type EventLoader = StateResInput['getEvent'];
