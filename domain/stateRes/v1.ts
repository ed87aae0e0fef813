import { createHash } from 'node:crypto';
import { checkAuthRules } from '../auth/index.ts';
import type { StateLookup } from '../auth/index.ts';
import type { RoomEvent, StateMap } from '../events/index.ts';
import { stateKeyOf, stateTupleOf } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { splitConflictedStateV1 } from './conflicts.ts';
import type { StateResInput } from './types.ts';

const sha1Hex = (eventId: string): string => createHash('sha1').update(eventId, 'utf8').digest('hex');

/** Sorts "by ascending depth then descending sha1(event_id)" (v1's order for auth-relevant events). */
export const orderByDepthThenSha1 = (events: readonly RoomEvent[]): RoomEvent[] => {
  const hashes = new Map(events.map((event) => [event.eventId, sha1Hex(event.eventId)]));
  return [...events].sort((x, y) => {
    if (x.depth !== y.depth) return x.depth - y.depth;
    const hx = hashes.get(x.eventId) as string;
    const hy = hashes.get(y.eventId) as string;
    return hx < hy ? 1 : hx > hy ? -1 : 0;
  });
};

const POWER_LEVELS_KEY = stateKeyOf('m.room.power_levels', '');
const JOIN_RULES_KEY = stateKeyOf('m.room.join_rules', '');

/**
 * State resolution in room version 1 (rooms/v1.md). Known to reset state; kept for v1 rooms.
 * R starts as the union of the states without the conflicting events, then the conflicts are
 * settled in passes: power levels, join rules, memberships, then everything else.
 */
export const resolveV1 = (input: StateResInput, rules: RoomVersionRules): StateMap => {
  const { getEvent } = input;
  const { unconflicted, conflicted } = splitConflictedStateV1(input.stateSets);
  const resolved = new Map(unconflicted);
  const lookup: StateLookup = (type, stateKey) => {
    const id = resolved.get(stateKeyOf(type, stateKey));
    return id === undefined ? undefined : getEvent(id);
  };
  const allowed = (event: RoomEvent): boolean => checkAuthRules(event, lookup, rules).allowed;
  const eventsOf = (key: string): RoomEvent[] =>
    (conflicted.get(key) ?? []).map(getEvent).filter((event): event is RoomEvent => event !== undefined);

  // "Add the first event in the list to R. For each subsequent event in the list, check that the
  // event would be allowed by the authorisation rules for a room in state R. If allowed, update R
  // and continue; if not, stop."
  const resolveAuthKey = (key: string): void => {
    const [first, ...rest] = orderByDepthThenSha1(eventsOf(key));
    if (first === undefined) return;
    resolved.set(key, first.eventId);
    for (const event of rest) {
      if (!allowed(event)) break;
      resolved.set(key, event.eventId);
    }
  };

  // Keys are taken in sorted order so the result does not depend on the order of the state sets.
  const keys = [...conflicted.keys()].sort();
  resolveAuthKey(POWER_LEVELS_KEY);
  resolveAuthKey(JOIN_RULES_KEY);
  for (const key of keys) if (stateTupleOf(key).type === 'm.room.member') resolveAuthKey(key);

  // "For all other conflicts, just pick the event with the highest depth and lowest sha1(event_id)
  // that passes authentication in R". The spec does not say what happens when none passes; like
  // Synapse (the reference for v1) we then keep the last candidate, the one with the least depth.
  for (const key of keys) {
    if (key === POWER_LEVELS_KEY || key === JOIN_RULES_KEY || stateTupleOf(key).type === 'm.room.member') continue;
    const candidates = orderByDepthThenSha1(eventsOf(key)).reverse();
    const chosen = candidates.find(allowed) ?? candidates[candidates.length - 1];
    if (chosen !== undefined) resolved.set(key, chosen.eventId);
  }
  return resolved;
};
