import type { EventLoader } from './types.ts';
import { walkAuthEvents } from './authChains.ts';

/**
 * Since v12 (state res v2.1), "Conflicted state subgraph": the union of all auth_events paths
 * between any pair of events in the conflicted state set, endpoints included.
 *
 * An event lies on such a path when it is reached from a conflicted event (it is in their auth
 * chains) and itself reaches a conflicted event (or is one). A conflicted event is an endpoint when
 * another conflicted event reaches it or it reaches another. Both walks are linear in the
 * conflicted events' auth chains.
 */
export const conflictedStateSubgraph = (conflicted: ReadonlySet<string>, getEvent: EventLoader): Set<string> => {
  const below = walkAuthEvents([...conflicted], getEvent, () => true);
  const reaches = reachesConflicted(below, conflicted, getEvent);
  const subgraph = new Set<string>();
  for (const id of below) if (reaches.has(id)) subgraph.add(id);
  for (const id of conflicted) {
    const parents = getEvent(id)?.authEventIds ?? [];
    if (parents.some((parent) => reaches.has(parent))) subgraph.add(id);
  }
  return subgraph;
};

/** The events of `region` (closed under auth_events) with a path of length ≥ 0 to a conflicted event. */
const reachesConflicted = (region: ReadonlySet<string>, conflicted: ReadonlySet<string>, getEvent: EventLoader): Set<string> => {
  const reaches = new Set<string>();
  const done = new Set<string>();
  const entered = new Set<string>();
  for (const start of region) {
    // Iterative post-order: decide an event once all its auth events are decided. `entered` also
    // keeps a malformed (cyclic) graph from looping.
    const stack: string[] = [start];
    while (stack.length > 0) {
      const id = stack[stack.length - 1] as string;
      if (done.has(id)) {
        stack.pop();
        continue;
      }
      const parents = (getEvent(id)?.authEventIds ?? []).filter((parent) => region.has(parent));
      if (!entered.has(id)) {
        entered.add(id);
        stack.push(...parents.filter((parent) => !done.has(parent) && !entered.has(parent)));
        continue;
      }
      stack.pop();
      done.add(id);
      if (conflicted.has(id) || parents.some((parent) => reaches.has(parent))) reaches.add(id);
    }
  }
  return reaches;
};
