import { stateKeyOf } from '../events/index.ts';
import type { RoomEvent } from '../events/index.ts';

/** The outcome of an auth check: allowed, or denied with a reason a human can read in logs. */
export type AuthDecision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/** State the event is checked against: (type, state_key) → event, or undefined. */
export type StateLookup = (type: string, stateKey: string) => RoomEvent | undefined;

export const ALLOW: AuthDecision = Object.freeze({ allowed: true });

export const deny = (reason: string): AuthDecision => ({ allowed: false, reason });

/**
 * A lookup over a list of events keyed by (type, state_key), e.g. an event's resolved auth events.
 * The first event for a key wins; non-state events are ignored.
 */
export const stateLookupOf = (events: Iterable<RoomEvent>): StateLookup => {
  const byKey = new Map<string, RoomEvent>();
  for (const event of events) {
    if (event.stateKey === undefined) continue;
    const key = stateKeyOf(event.type, event.stateKey);
    if (!byKey.has(key)) byKey.set(key, event);
  }
  return (type, stateKey) => byKey.get(stateKeyOf(type, stateKey));
};
