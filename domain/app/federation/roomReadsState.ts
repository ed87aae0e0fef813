/**
 * The room state /state and /state_ids answer (events.yaml: "the state of the room at the given
 * event"): as Synapse, the state *before* the event — what its `prev_events` resolve to — so the
 * asker can check the event against it.
 *
 * The read model holds the state *after* each accepted event (RoomEventGraph.stateAfterEvent),
 * which differs from the state before it in the event's own key at most. So only that key's value
 * before the event is worked out: from the states after its prev events when they agree on it
 * (nearly always), by resolving those states with the room version's algorithm when they do not.
 */
import { roomEventOfAcceptedPdu, stateKeyOf, type RoomEvent, type StateMap } from '../../events/index.ts';
import type { RoomEventGraph } from '../../ports/roomEvents.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import { roomVersionRules, type RoomVersionRules } from '../../roomVersions/index.ts';
import { resolveState } from '../../stateRes/index.ts';

type Graph = Pick<RoomEventGraph, 'stateAfterEvent' | 'eventsByIds' | 'authChainIds'>;

/**
 * Resolves the states after several prev events, loading what state resolution reads: every
 * event of the states and the whole auth chains behind them.
 */
const resolvePrevStates = async (graph: Graph, roomId: string, states: readonly StateMap[], rules: RoomVersionRules): Promise<StateMap> => {
  const stateIds = [...new Set(states.flatMap((state) => [...state.values()]))];
  const chain = await graph.authChainIds(roomId, stateIds);
  const stored = await graph.eventsByIds([...new Set([...stateIds, ...chain])]);
  const events = new Map<string, RoomEvent>();
  for (const event of stored) {
    if (event.roomId === roomId) events.set(event.eventId, roomEventOfAcceptedPdu(event.pdu, rules, event.eventId));
  }
  return resolveState({ stateSets: states, getEvent: (id) => events.get(id) }, rules);
};

/**
 * The state before an accepted event of the room, or undefined when the read model holds no
 * state for it (an outlier: held for its id, never placed in the DAG's state).
 */
export const stateBeforeEvent = async (graph: Graph, event: StoredEvent): Promise<StateMap | undefined> => {
  const after = await graph.stateAfterEvent(event.eventId);
  if (after === undefined) return undefined;
  // An event that is not state changes nothing: the state after it is the state before it.
  if (event.stateKey === null) return after;
  const rules = roomVersionRules(event.roomVersion);
  if (rules === undefined) return undefined;
  const key = stateKeyOf(event.type, event.stateKey);
  const prevIds = roomEventOfAcceptedPdu(event.pdu, rules, event.eventId).prevEventIds;
  const prevStates = await Promise.all(prevIds.map((id) => graph.stateAfterEvent(id)));
  let before: string | undefined;
  if (prevStates.length === 0 || prevStates.some((state) => state === undefined)) {
    // No prev events (the create event), or some not in our DAG: the first event after a join
    // through another server, whose prev events are the other server's. The writer then placed
    // the event on the room's only extremity, so the state it replaced in the room's state is the
    // state before it.
    before = event.replacesState ?? undefined;
  } else {
    const states = prevStates as StateMap[];
    const values = new Set(states.map((state) => state.get(key)));
    before = values.size === 1 ? [...values][0] : (await resolvePrevStates(graph, event.roomId, states, rules)).get(key);
  }
  const state = new Map(after);
  if (before === undefined) state.delete(key);
  else state.set(key, before);
  return state;
};
