import { isPowerEvent, powerLevelOf } from '../auth/index.ts';
import type { StateMap } from '../events/index.ts';
import { stateKeyOf } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { AuthChains, authDifference } from './authChains.ts';
import { conflictedEventIds, splitConflictedState } from './conflicts.ts';
import type { ConflictSplit } from './conflicts.ts';
import { authEventsLookup, iterativeAuthChecks } from './iterativeAuthChecks.ts';
import type { AuthContext } from './iterativeAuthChecks.ts';
import { mainlineOrdering, reverseTopologicalPowerOrdering } from './ordering.ts';
import type { PowerSortKey } from './ordering.ts';
import { conflictedStateSubgraph } from './subgraph.ts';
import type { EventLoader, StateResInput } from './types.ts';

/**
 * "Full conflicted set": the conflicted state set and the auth difference, and since v12 (v2.1)
 * the conflicted state subgraph. Events that cannot be loaded are left out.
 */
export const fullConflictedSet = (
  stateSets: readonly StateMap[],
  split: ConflictSplit,
  getEvent: EventLoader,
  rules: RoomVersionRules,
): Set<string> => {
  const conflictedIds = conflictedEventIds(split.conflicted);
  const full = new Set<string>();
  const add = (ids: Iterable<string>): void => {
    for (const id of ids) if (getEvent(id) !== undefined) full.add(id);
  };
  add(conflictedIds);
  add(authDifference(stateSets, getEvent, split));
  if (rules.stateRes === 'v2.1') add(conflictedStateSubgraph(conflictedIds, getEvent));
  return full;
};

/**
 * Step 1's set X: "all power events that appear in the full conflicted set", enlarged by "the
 * events in the auth chain of P which also belong to the full conflicted set".
 */
export const conflictedPowerEvents = (fullConflicted: ReadonlySet<string>, getEvent: EventLoader, chains: AuthChains): Set<string> => {
  const selected = new Set<string>();
  for (const id of fullConflicted) {
    const event = getEvent(id);
    if (event === undefined || !isPowerEvent(event)) continue;
    selected.add(id);
    for (const ancestor of chains.of(id)) if (fullConflicted.has(ancestor)) selected.add(ancestor);
  }
  return selected;
};

/** Step 1's ordering: the reverse topological power ordering of X over the auth DAG. */
export const sortPowerEvents = (powerEvents: ReadonlySet<string>, context: AuthContext, chains: AuthChains): string[] => {
  const keys = new Map<string, PowerSortKey>();
  const sortKeyOf = (eventId: string): PowerSortKey => {
    const known = keys.get(eventId);
    if (known !== undefined) return known;
    const event = context.getEvent(eventId);
    const key: PowerSortKey =
      event === undefined
        ? { powerLevel: -Infinity, originServerTs: Infinity, eventId }
        : {
            // "when looking at their respective auth_events"
            powerLevel: powerLevelOf(event.sender, authEventsLookup(event, context), context.rules),
            originServerTs: event.originServerTs,
            eventId,
          };
    keys.set(eventId, key);
    return key;
  };
  return reverseTopologicalPowerOrdering(powerEvents, (id) => chains.of(id), sortKeyOf);
};

const POWER_LEVELS_KEY = stateKeyOf('m.room.power_levels', '');

/** State resolution v2 (room versions 2–11) and, with `rules.stateRes === 'v2.1'`, v2.1 (v12). */
export const resolveV2 = (input: StateResInput, rules: RoomVersionRules): StateMap => {
  const { stateSets, getEvent } = input;
  const split = splitConflictedState(stateSets);
  const { unconflicted } = split;
  if (split.conflicted.size === 0) return unconflicted;
  const context: AuthContext = { getEvent, isRejected: input.isRejected ?? (() => false), rules };
  const chains = new AuthChains(getEvent);
  const fullConflicted = fullConflictedSet(stateSets, split, getEvent, rules);

  // 1. The power events of the full conflicted set and their conflicted ancestry, in power order.
  const powerEvents = conflictedPowerEvents(fullConflicted, getEvent, chains);
  const sortedPowerEvents = sortPowerEvents(powerEvents, context, chains);
  // 2. Iterative auth checks from the unconflicted state map — since v12 from an empty state map.
  const initial = rules.stateRes === 'v2.1' ? new Map<string, string>() : unconflicted;
  const partiallyResolved = iterativeAuthChecks(initial, sortedPowerEvents, context);
  // 3. The other events, in mainline order based on the partially resolved power levels.
  const remaining = [...fullConflicted].filter((id) => !powerEvents.has(id));
  const sortedRemaining = mainlineOrdering(remaining, partiallyResolved.get(POWER_LEVELS_KEY), getEvent);
  // 4. Iterative auth checks on the partially resolved state.
  const resolved = iterativeAuthChecks(partiallyResolved, sortedRemaining, context);
  // 5. The unconflicted state map wins over whatever the checks produced for its keys.
  for (const [key, eventId] of unconflicted) resolved.set(key, eventId);
  return resolved;
};
