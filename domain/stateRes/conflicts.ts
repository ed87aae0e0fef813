import type { StateMap } from '../events/index.ts';

/** The state maps split into the part every fork agrees on and the events they disagree about. */
export interface ConflictSplit {
  readonly unconflicted: Map<string, string>;
  /** State key → the distinct event ids the forks hold for it, sorted so the result is order-free. */
  readonly conflicted: Map<string, string[]>;
}

/**
 * v2 "Unconflicted state map and conflicted state set": (K, V) is unconflicted when K is present
 * in every S_i with the same V; otherwise every V of K belongs to the conflicted state set (so a
 * key missing from one fork is conflicted).
 */
export const splitConflictedState = (stateSets: readonly StateMap[]): ConflictSplit => split(stateSets, false);

/**
 * v1: "A conflict occurs between states where those states have different event_ids for the same
 * (event_type, state_key)". A key that only some forks hold, all with one event id, is not a conflict.
 */
export const splitConflictedStateV1 = (stateSets: readonly StateMap[]): ConflictSplit => split(stateSets, true);

/** Every event id of the conflicted state set, once. */
export const conflictedEventIds = (conflicted: ReadonlyMap<string, readonly string[]>): Set<string> => {
  const ids = new Set<string>();
  for (const values of conflicted.values()) for (const id of values) ids.add(id);
  return ids;
};

const split = (stateSets: readonly StateMap[], missingIsAgreement: boolean): ConflictSplit => {
  const unconflicted = new Map<string, string>();
  const conflicted = new Map<string, string[]>();
  const [first, ...rest] = stateSets;
  if (first === undefined) return { unconflicted, conflicted };
  // Forks of one room share almost all their state: compare every fork with the first one and
  // only gather values for the keys where some fork differs (or lacks or adds the key).
  const differing = new Set<string>();
  for (const stateSet of rest) {
    let shared = 0;
    for (const [key, eventId] of stateSet) {
      const reference = first.get(key);
      if (reference === undefined) differing.add(key);
      else {
        shared += 1;
        if (reference !== eventId) differing.add(key);
      }
    }
    if (shared < first.size) for (const key of first.keys()) if (!stateSet.has(key)) differing.add(key);
  }
  for (const [key, eventId] of first) if (!differing.has(key)) unconflicted.set(key, eventId);
  for (const key of differing) {
    const values = new Set<string>();
    for (const stateSet of stateSets) {
      const eventId = stateSet.get(key);
      if (eventId !== undefined) values.add(eventId);
    }
    if (missingIsAgreement && values.size === 1) unconflicted.set(key, values.values().next().value as string);
    else conflicted.set(key, [...values].sort());
  }
  return { unconflicted, conflicted };
};
