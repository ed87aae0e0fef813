/**
 * The classic Synapse state resolution v2 scenarios (../shared/spec/vectors/state-res/
 * synapse-v2-scenarios.json), run through the harness the file describes: build the DAG, walk it in
 * lexicographical topological order, resolve the states at every merge, pick auth events from the
 * state before each event, and compare what changed between START and END.
 */
import { readSpecVector } from '../../test/fixtures/index.ts';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../json.ts';
import { authEventTuples } from '../auth/index.ts';
import type { RoomEvent, StateMap } from '../events/index.ts';
import { stateKeyOf } from '../events/index.ts';
import { roomVersionRules } from '../roomVersions/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { resolveState, reverseTopologicalPowerOrdering } from './index.ts';

const vectors = readSpecVector<Record<string, unknown>>('state-res/synapse-v2-scenarios.json');

interface NodeSpec {
  readonly node: string;
  readonly event_id: string;
  readonly sender: string;
  readonly type: string;
  readonly content: JsonObject;
  readonly state_key?: string;
}
interface Scenario {
  readonly name: string;
  readonly events: readonly NodeSpec[];
  readonly edges: readonly (readonly string[])[];
  readonly expected_state_nodes: readonly string[];
}

const initialEvents = vectors.initial_events as NodeSpec[];
const initialEdges = vectors.initial_edges as string[];
const rules = roomVersionRules('2') as RoomVersionRules;

/** Lexicographical topological order, parents first, ties by name (all powers and timestamps equal). */
const lexicographicalOrder = (parents: ReadonlyMap<string, readonly string[]>): string[] =>
  reverseTopologicalPowerOrdering(parents.keys(), (node) => parents.get(node) ?? [], (node) => ({
    powerLevel: 0,
    originServerTs: 0,
    eventId: node,
  }));

/** Runs one scenario; returns the state at START and at END. */
const runScenario = (scenario: Scenario): { start: StateMap; end: StateMap; specs: Map<string, NodeSpec> } => {
  const specs = new Map<string, NodeSpec>([...initialEvents, ...scenario.events].map((spec) => [spec.node, spec]));
  const prevs = new Map<string, string[]>([...specs.keys()].map((node) => [node, []]));
  for (const chain of [initialEdges, ...scenario.edges]) {
    for (let i = 0; i + 1 < chain.length; i += 1) {
      const [child, parent] = [chain[i] as string, chain[i + 1] as string];
      const list = prevs.get(child) as string[];
      if (!list.includes(parent)) list.push(parent);
    }
  }
  const store = new Map<string, RoomEvent>();
  const stateAfter = new Map<string, StateMap>();
  const depthOf = new Map<string, number>();
  let ts = 0;
  for (const node of lexicographicalOrder(prevs)) {
    const spec = specs.get(node);
    if (spec === undefined) throw new Error(`edge names unknown node ${node}`);
    const parents = prevs.get(node) as string[];
    const parentStates = parents.map((parent) => stateAfter.get(parent) as StateMap);
    const before =
      parentStates.length === 0
        ? new Map<string, string>()
        : resolveState({ stateSets: parentStates, getEvent: (id) => store.get(id) }, rules);
    const authEventIds = authEventTuples({ type: spec.type, stateKey: spec.state_key, sender: spec.sender, content: spec.content }, rules)
      .map(({ type, stateKey }) => before.get(stateKeyOf(type, stateKey)))
      .filter((id): id is string => id !== undefined);
    const depth = Math.max(0, ...parents.map((parent) => depthOf.get(parent) ?? 0)) + 1;
    depthOf.set(node, depth);
    ts += 1;
    const event: RoomEvent = {
      eventId: spec.event_id,
      roomId: '!room:example.com',
      type: spec.type,
      stateKey: spec.state_key,
      sender: spec.sender,
      content: spec.content,
      originServerTs: ts,
      depth,
      prevEventIds: parents.map((parent) => (specs.get(parent) as NodeSpec).event_id),
      authEventIds,
      redacts: undefined,
      pdu: {},
    };
    store.set(event.eventId, event);
    const after = new Map(before);
    if (event.stateKey !== undefined) after.set(stateKeyOf(event.type, event.stateKey), event.eventId);
    stateAfter.set(node, after);
  }
  return { start: stateAfter.get('START') as StateMap, end: stateAfter.get('END') as StateMap, specs };
};

const KNOWN_KEYS = ['source', 'room_version', 'harness', 'initial_events', 'initial_edges', 'scenarios', 'lexicographical_topological_sort_example'];

describe('Synapse state resolution v2 scenarios', () => {
  it('knows every entry of the vector file', () => {
    expect(Object.keys(vectors).filter((key) => !KNOWN_KEYS.includes(key))).toEqual([]);
  });

  for (const scenario of vectors.scenarios as Scenario[]) {
    it(scenario.name, () => {
      const { start, end, specs } = runScenario(scenario);
      const expected = scenario.expected_state_nodes.map((node) => specs.get(node) as NodeSpec);
      // The keys that changed between START and END, plus the keys of the expected nodes…
      const keys = new Set(expected.map((spec) => stateKeyOf(spec.type, spec.state_key as string)));
      for (const [key, id] of end) if (start.get(key) !== id) keys.add(key);
      for (const key of start.keys()) if (!end.has(key)) keys.add(key);
      // …must map exactly to the expected nodes.
      const actual = Object.fromEntries([...keys].map((key) => [key, end.get(key)]));
      const wanted = Object.fromEntries(expected.map((spec) => [stateKeyOf(spec.type, spec.state_key as string), spec.event_id]));
      expect(actual).toEqual(wanted);
    });
  }

  it('lexicographical topological sort example', () => {
    const example = vectors.lexicographical_topological_sort_example as {
      graph_child_to_parents: Record<string, string[]>;
      expected_order: string[];
    };
    expect(lexicographicalOrder(new Map(Object.entries(example.graph_child_to_parents)))).toEqual(example.expected_order);
  });
});
