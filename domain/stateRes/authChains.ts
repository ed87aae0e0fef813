import type { StateMap } from '../events/index.ts';
import { splitConflictedState } from './conflicts.ts';
import type { ConflictSplit } from './conflicts.ts';
import type { EventLoader } from './types.ts';

/**
 * "The auth chain of an event E is the set containing all of E's auth events, all of their auth
 * events, and so on recursively" — E itself excluded. Chains are memoised per event, so the many
 * events of a resolution that share ancestry walk it once. Events the loader cannot find are left
 * out (they cannot be "verified").
 */
export class AuthChains {
  readonly #getEvent: EventLoader;
  readonly #memo = new Map<string, ReadonlySet<string>>();

  constructor(getEvent: EventLoader) {
    this.#getEvent = getEvent;
  }

  /** The auth chain of one event (empty when the event cannot be loaded). */
  of(eventId: string): ReadonlySet<string> {
    const known = this.#memo.get(eventId);
    if (known !== undefined) return known;
    // Iterative post-order walk: auth chains of long-lived rooms are deeper than the call stack.
    // A malformed (cyclic) graph must not hang us: an event already on the walk is not re-entered.
    const stack: string[] = [eventId];
    const onWalk = new Set<string>();
    while (stack.length > 0) {
      const id = stack[stack.length - 1] as string;
      if (this.#memo.has(id)) {
        stack.pop();
        continue;
      }
      const parents = this.#loadedAuthEvents(id);
      const pending = onWalk.has(id) ? [] : parents.filter((parent) => !this.#memo.has(parent) && !onWalk.has(parent));
      onWalk.add(id);
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      stack.pop();
      this.#memo.set(id, this.#combine(parents.filter((parent) => this.#memo.has(parent))));
    }
    return this.#memo.get(eventId) as ReadonlySet<string>;
  }

  #loadedAuthEvents(eventId: string): string[] {
    const event = this.#getEvent(eventId);
    if (event === undefined) return [];
    return event.authEventIds.filter((id) => id !== eventId && this.#getEvent(id) !== undefined);
  }

  /** Union of {a} ∪ chain(a) over the auth events: copy the largest chain, add the others. */
  #combine(parents: readonly string[]): ReadonlySet<string> {
    if (parents.length === 0) return EMPTY;
    let largest = this.#memo.get(parents[0] as string) as ReadonlySet<string>;
    for (const parent of parents) {
      const chain = this.#memo.get(parent) as ReadonlySet<string>;
      if (chain.size > largest.size) largest = chain;
    }
    const chain = new Set(largest);
    for (const parent of parents) {
      chain.add(parent);
      const parentChain = this.#memo.get(parent) as ReadonlySet<string>;
      if (parentChain !== largest) for (const id of parentChain) chain.add(id);
    }
    return chain;
  }
}

const EMPTY: ReadonlySet<string> = new Set();

/** "The full auth chain for each state S_i, that is the union of the auth chains for each event in S_i." */
export const fullAuthChain = (stateSet: StateMap, chains: AuthChains): Set<string> => {
  const full = new Set<string>();
  for (const eventId of stateSet.values()) for (const id of chains.of(eventId)) full.add(id);
  return full;
};

/**
 * "The auth difference is ∪ C_i − ∩ C_i", C_i the full auth chain of S_i.
 *
 * Computed without building each C_i: the events every state set holds contribute the
 * same ancestors to every C_i, and that ancestry is closed under auth_events. So each C_i is that
 * shared ancestry plus what a walk from S_i's other events reaches before it enters the shared part;
 * an event is in the difference when some but not all of those walks reach it. This keeps a room
 * with many members and a few forks linear in the auth DAG, instead of forks × members.
 */
export const authDifference = (
  stateSets: readonly StateMap[],
  getEvent: EventLoader,
  split: ConflictSplit = splitConflictedState(stateSets),
): Set<string> => {
  const difference = new Set<string>();
  if (stateSets.length < 2) return difference;
  // The events every state set holds are exactly the unconflicted state map's values.
  const sharedAncestry = walkAuthEvents([...split.unconflicted.values()], getEvent, () => true);
  const reachedBy = new Map<string, number>();
  for (const stateSet of stateSets) {
    const own: string[] = [];
    for (const key of split.conflicted.keys()) {
      const eventId = stateSet.get(key);
      if (eventId !== undefined) own.push(eventId);
    }
    for (const id of walkAuthEvents(own, getEvent, (next) => !sharedAncestry.has(next))) {
      reachedBy.set(id, (reachedBy.get(id) ?? 0) + 1);
    }
  }
  for (const [id, count] of reachedBy) if (count < stateSets.length) difference.add(id);
  return difference;
};

/** Every loadable event reachable through auth_events from `starts` (starts excluded unless reached). */
export const walkAuthEvents = (
  starts: readonly string[],
  getEvent: EventLoader,
  follow: (eventId: string) => boolean,
): Set<string> => {
  const seen = new Set<string>();
  const stack: string[] = [];
  const expand = (eventId: string): void => {
    for (const parent of getEvent(eventId)?.authEventIds ?? []) {
      if (seen.has(parent) || !follow(parent) || getEvent(parent) === undefined) continue;
      seen.add(parent);
      stack.push(parent);
    }
  };
  for (const start of starts) expand(start);
  for (let id = stack.pop(); id !== undefined; id = stack.pop()) expand(id);
  return seen;
};
