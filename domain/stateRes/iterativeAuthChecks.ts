import { checkAuthRules } from '../auth/index.ts';
import type { StateLookup } from '../auth/index.ts';
import type { RoomEvent } from '../events/index.ts';
import { stateKeyOf } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import type { EventLoader } from './types.ts';

/** What the auth lookups of state resolution need besides the rules. */
export interface AuthContext {
  readonly getEvent: EventLoader;
  readonly isRejected: (eventId: string) => boolean;
  readonly rules: RoomVersionRules;
}

/**
 * Since v12 the create event is not in auth_events; the room id is its event id with the `!`
 * sigil, so it can still be found for the auth rules.
 */
const createEventOf = (event: RoomEvent, context: AuthContext): RoomEvent | undefined =>
  context.rules.eventFormat.roomIdIsCreateEventHash && event.roomId.startsWith('!')
    ? context.getEvent(`$${event.roomId.slice(1)}`)
    : undefined;

/** An event's auth_events keyed by (type, state_key), rejected ones left out. */
const authEventsByKey = (event: RoomEvent, context: AuthContext): Map<string, RoomEvent> => {
  const byKey = new Map<string, RoomEvent>();
  for (const id of event.authEventIds) {
    const authEvent = context.getEvent(id);
    if (authEvent === undefined || authEvent.stateKey === undefined || context.isRejected(id)) continue;
    const key = stateKeyOf(authEvent.type, authEvent.stateKey);
    if (!byKey.has(key)) byKey.set(key, authEvent);
  }
  return byKey;
};

/**
 * The state an event's auth_events describe: what "the sender's power level when looking at their
 * respective auth_events" is read from in the reverse topological power ordering.
 */
export const authEventsLookup = (event: RoomEvent, context: AuthContext): StateLookup => {
  const byKey = authEventsByKey(event, context);
  return (type, stateKey) =>
    byKey.get(stateKeyOf(type, stateKey)) ??
    (type === 'm.room.create' && stateKey === '' ? createEventOf(event, context) : undefined);
};

/**
 * "Iterative auth checks": apply each state event in order when the authorisation rules allow it
 * against the state built so far; otherwise ignore it. "If a (event_type, state_key) key that is
 * required for checking the authorisation rules is not present in the state, then the appropriate
 * state event from the event's auth_events is used if the auth event is not rejected."
 */
export const iterativeAuthChecks = (
  initialState: ReadonlyMap<string, string>,
  eventIds: readonly string[],
  context: AuthContext,
): Map<string, string> => {
  const state = new Map(initialState);
  for (const eventId of eventIds) {
    const event = context.getEvent(eventId);
    if (event === undefined || event.stateKey === undefined) continue;
    let fallback: StateLookup | undefined;
    const lookup: StateLookup = (type, stateKey) => {
      const inState = state.get(stateKeyOf(type, stateKey));
      const fromState = inState === undefined ? undefined : context.getEvent(inState);
      if (fromState !== undefined) return fromState;
      fallback ??= authEventsLookup(event, context);
      return fallback(type, stateKey);
    };
    if (checkAuthRules(event, lookup, context.rules).allowed) state.set(stateKeyOf(event.type, event.stateKey), eventId);
  }
  return state;
};
