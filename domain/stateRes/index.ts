export type { StateResInput, EventLoader } from './types.ts';
export { resolveState } from './resolve.ts';
export { resolveV1, orderByDepthThenSha1 } from './v1.ts';
export { resolveV2, fullConflictedSet, conflictedPowerEvents, sortPowerEvents } from './v2.ts';
export { splitConflictedState, splitConflictedStateV1, conflictedEventIds } from './conflicts.ts';
export type { ConflictSplit } from './conflicts.ts';
export { AuthChains, fullAuthChain, authDifference, walkAuthEvents } from './authChains.ts';
export { conflictedStateSubgraph } from './subgraph.ts';
export {
  reverseTopologicalPowerOrdering,
  powerOrderLess,
  mainlineOf,
  mainlinePositions,
  mainlineOrdering,
  powerLevelsAuthEvent,
} from './ordering.ts';
export type { PowerSortKey } from './ordering.ts';
export { iterativeAuthChecks, authEventsLookup } from './iterativeAuthChecks.ts';
export type { AuthContext } from './iterativeAuthChecks.ts';
export { MinHeap } from './heap.ts';
