/**
 * The state and auth chains other servers are given when they join or leave through us
 * (send_join's `state` and `auth_chain`): read from the room DAG as the read model holds it.
 */
import type { Pdu } from '../../../events/index.ts';
import type { RoomEventGraph } from '../../../ports/roomEvents.ts';
import type { StoredEvent } from '../../../ports/rooms.ts';

/** Bounds the walk: auth chains of real rooms are far smaller; a corrupt graph cannot loop us. */
const MAX_AUTH_CHAIN = 100_000;

const authIdsOf = (pdu: Pdu): string[] => (Array.isArray(pdu.auth_events) ? pdu.auth_events : [])
  .map((ref) => (typeof ref === 'string' ? ref : Array.isArray(ref) && typeof ref[0] === 'string' ? ref[0] : undefined))
  .filter((id): id is string => id !== undefined);

/** Every event in the auth chains of `events`, not counting `events` themselves unless cited. */
export const authChainOf = async (graph: RoomEventGraph, events: readonly StoredEvent[]): Promise<StoredEvent[]> => {
  const chain = new Map<string, StoredEvent>();
  let frontier = [...new Set(events.flatMap((event) => authIdsOf(event.pdu)))];
  while (frontier.length > 0 && chain.size < MAX_AUTH_CHAIN) {
    const found = await graph.eventsByIds(frontier.filter((id) => !chain.has(id)));
    for (const event of found) chain.set(event.eventId, event);
    frontier = [...new Set(found.flatMap((event) => authIdsOf(event.pdu)))].filter((id) => !chain.has(id));
  }
  return [...chain.values()];
};

/** The state before a membership event we accepted: the state after it, its own key put back as it was. */
export const stateBeforeMembership = async (graph: RoomEventGraph, member: StoredEvent): Promise<StoredEvent[]> => {
  const after = await graph.stateAfterEvent(member.eventId);
  if (after === undefined) return [];
  const ids = [...after.values()].filter((id) => id !== member.eventId);
  if (member.replacesState !== null) ids.push(member.replacesState);
  return graph.eventsByIds(ids);
};

/** The wire form of stored events: the PDU (v1–v2 carry their id inside). */
export const pdusOf = (events: readonly StoredEvent[]): Pdu[] => events.map((event) => event.pdu);
