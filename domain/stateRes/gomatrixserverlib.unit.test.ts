/**
 * Unit-level facts restated from gomatrixserverlib (../shared/spec/vectors/state-res/
 * gomatrixserverlib-scenarios.json): power ordering, reverse topological power ordering, full
 * auth chains, and the v2.1 conflicted state subgraph. Every entry of the file must be known here.
 */
import { readSpecVector } from '../../test/fixtures/index.ts';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../json.ts';
import type { RoomEvent } from '../events/index.ts';
import { roomVersionRules } from '../roomVersions/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import {
  AuthChains,
  conflictedStateSubgraph,
  fullAuthChain,
  reverseTopologicalPowerOrdering,
  sortPowerEvents,
} from './index.ts';
import { eventStore, graphEvent, roomEventFromJson } from '../../test/builders/index.ts';

const vectors = readSpecVector<Record<string, unknown>>('state-res/gomatrixserverlib-scenarios.json');

interface OrderingFact {
  readonly input: readonly { event_id: string; power_level: number; origin_server_ts: number }[];
  readonly expected_order: readonly string[];
}
interface TopologicalFact {
  readonly events: readonly JsonObject[];
  readonly expected_order: readonly string[];
}
interface ChainCase {
  readonly name: string;
  readonly start: readonly string[];
  readonly expected_union_of_auth_chains: readonly string[];
}
interface SubgraphCase {
  readonly name: string;
  readonly state_set_events: readonly string[];
  readonly conflicted: readonly string[];
  readonly expected_auth_chain: readonly string[];
  readonly expected_conflicted_subgraph: readonly string[];
}

const graph = (vectors.auth_chain_graph as { auth_events: Record<string, string[]> }).auth_events;
const graphStore = eventStore(Object.entries(graph).map(([id, auth]) => graphEvent(id, auth)));
const loadGraphEvent = (id: string): RoomEvent | undefined => graphStore.get(id);
const sorted = (ids: Iterable<string>): string[] => [...ids].sort();
/** A state map whose values are the given events (keys only need to be distinct). */
const stateOf = (ids: readonly string[]): Map<string, string> => new Map(ids.map((id) => [`k\u0000${id}`, id]));

const KNOWN_KEYS = [
  'source',
  'power_event_ordering',
  'reverse_topological_power_ordering',
  'auth_chain_graph',
  'full_auth_chain_cases',
  'conflicted_subgraph_cases_v2_1',
];

describe('gomatrixserverlib state resolution facts', () => {
  it('knows every entry of the vector file', () => {
    expect(Object.keys(vectors).filter((key) => !KNOWN_KEYS.includes(key))).toEqual([]);
  });

  it('orders conflicted power events by power DESC, origin_server_ts ASC, event_id ASC', () => {
    const fact = vectors.power_event_ordering as OrderingFact;
    const keys = new Map(fact.input.map((e) => [e.event_id, { powerLevel: e.power_level, originServerTs: e.origin_server_ts, eventId: e.event_id }]));
    const order = reverseTopologicalPowerOrdering(keys.keys(), () => [], (id) => keys.get(id)!);
    expect(order).toEqual(fact.expected_order);
  });

  it('sorts the base room by reverse topological power ordering', () => {
    const fact = vectors.reverse_topological_power_ordering as TopologicalFact;
    const store = eventStore(fact.events.map((json) => roomEventFromJson(json, { roomId: '!room:example.com' })));
    const getEvent = (id: string) => store.get(id);
    const context = { getEvent, isRejected: () => false, rules: roomVersionRules('2') as RoomVersionRules };
    // Shuffled input: the order must come from the graph and the tie-breaks alone.
    const ids = new Set([...store.keys()].reverse());
    expect(sortPowerEvents(ids, context, new AuthChains(getEvent))).toEqual(fact.expected_order);
  });

  for (const chainCase of vectors.full_auth_chain_cases as ChainCase[]) {
    it(`full auth chain: ${chainCase.name}`, () => {
      const chains = new AuthChains(loadGraphEvent);
      expect(sorted(fullAuthChain(stateOf(chainCase.start), chains))).toEqual(sorted(chainCase.expected_union_of_auth_chains));
    });
  }

  for (const subgraphCase of (vectors.conflicted_subgraph_cases_v2_1 as { cases: SubgraphCase[] }).cases) {
    it(`conflicted state subgraph: ${subgraphCase.name}`, () => {
      const chains = new AuthChains(loadGraphEvent);
      expect(sorted(fullAuthChain(stateOf(subgraphCase.state_set_events), chains))).toEqual(sorted(subgraphCase.expected_auth_chain));
      const subgraph = conflictedStateSubgraph(new Set(subgraphCase.conflicted), loadGraphEvent);
      expect(sorted(subgraph)).toEqual(sorted(subgraphCase.expected_conflicted_subgraph));
    });
  }
});
