/**
 * Properties: resolution does not depend on the order of the state sets or of the entries inside
 * them (for every algorithm), and the fast auth difference / conflicted state subgraph agree with
 * the spec's definitions computed naively on random auth DAGs.
 */
import { readSpecVector } from '../../test/fixtures/index.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../json.ts';
import type { RoomEvent, StateMap } from '../events/index.ts';
import { roomVersionRules } from '../roomVersions/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { AuthChains, authDifference, conflictedStateSubgraph, fullAuthChain, resolveState } from './index.ts';
import { eventStore, graphEvent, roomEventFromJson, stateMapOf, stateMapToRecord } from '../../test/builders/index.ts';

const readJson = <T>(path: string): T => readSpecVector<T>(`state-res/ruma/${path}`);
const manifest = readJson<{ tests: { name: string; room_version: string; pdu_files: string[] }[] }>('tests.json');

/** A room's events from one ruma test, with depths set from the file order (v1 reads depth). */
const roomOf = (files: readonly string[]): RoomEvent[] =>
  files.flatMap((file) => readJson<JsonObject[]>(file)).map((json, index) => ({ ...roomEventFromJson(json), depth: index + 1 }));

const permuted = <T>(items: readonly T[]) => fc.shuffledSubarray([...items], { minLength: items.length, maxLength: items.length });

describe('resolution is independent of input order', () => {
  for (const test of manifest.tests) {
    const events = roomOf(test.pdu_files);
    const store = eventStore(events);
    const getEvent = (id: string) => store.get(id);
    const versions = [test.room_version, '1', '2'];
    for (const version of versions) {
      it(`${test.name}, algorithm of room v${version}`, () => {
        const rules = roomVersionRules(version) as RoomVersionRules;
        // Random state sets: each a random subset of the room's events (later events win a key).
        const stateSets = fc.array(fc.subarray(events, { minLength: 1 }), { minLength: 2, maxLength: 5 });
        fc.assert(
          fc.property(
            stateSets.chain((sets) => fc.tuple(fc.constant(sets), permuted(sets.map((_, i) => i)), fc.array(fc.integer(), { minLength: sets.length, maxLength: sets.length }))),
            ([sets, order, seeds]) => {
              const maps: StateMap[] = sets.map((set) => stateMapOf(set));
              const reordered: StateMap[] = order.map((i) => {
                // Same entries, inserted in a different order.
                const entries = [...(maps[i] as StateMap)];
                const seed = Math.abs(seeds[i] ?? 0);
                return new Map(entries.map((_, j) => entries[(j + seed) % entries.length] as [string, string]));
              });
              const expected = stateMapToRecord(resolveState({ stateSets: maps, getEvent }, rules));
              expect(stateMapToRecord(resolveState({ stateSets: reordered, getEvent }, rules))).toEqual(expected);
            },
          ),
          { numRuns: 60 },
        );
      });
    }
  }
});

/** A random auth DAG: event i may cite any earlier event. */
const randomDag = fc.integer({ min: 2, max: 14 }).chain((size) =>
  fc.tuple(
    ...Array.from({ length: size }, (_, i) => fc.subarray(Array.from({ length: i }, (_, j) => `e${j}`), { maxLength: Math.min(i, 3) })),
  ),
);

const storeOf = (dag: readonly (readonly string[])[]): Map<string, RoomEvent> =>
  eventStore(dag.map((auth, i) => graphEvent(`e${i}`, auth)));

describe('step helpers match the spec definitions', () => {
  it('auth difference = ∪ C_i − ∩ C_i of the full auth chains', () => {
    fc.assert(
      fc.property(
        randomDag.chain((dag) => fc.tuple(fc.constant(dag), fc.array(fc.subarray(dag.map((_, i) => `e${i}`)), { minLength: 1, maxLength: 4 }))),
        ([dag, sets]) => {
          const store = storeOf(dag);
          const getEvent = (id: string) => store.get(id);
          const stateSets = sets.map((ids) => new Map(ids.map((id) => [`k\u0000${id}`, id])));
          const chains = new AuthChains(getEvent);
          const full = stateSets.map((set) => fullAuthChain(set, chains));
          const union = new Set(full.flatMap((chain) => [...chain]));
          const naive = [...union].filter((id) => !full.every((chain) => chain.has(id)));
          expect([...authDifference(stateSets, getEvent)].sort()).toEqual(naive.sort());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('conflicted state subgraph = events on auth paths between two conflicted events', () => {
    fc.assert(
      fc.property(
        randomDag.chain((dag) => fc.tuple(fc.constant(dag), fc.subarray(dag.map((_, i) => `e${i}`)))),
        ([dag, conflicted]) => {
          const store = storeOf(dag);
          const getEvent = (id: string) => store.get(id);
          const chains = new AuthChains(getEvent);
          // v is on a path c1 → … → v → … → c2 (c1 ≠ c2): v descends from c1 (or is c1) and c2 from v (or is v).
          const reachable = (from: string, to: string) => from === to || chains.of(from).has(to);
          const naive = [...store.keys()].filter((v) =>
            conflicted.some((c1) => conflicted.some((c2) => c1 !== c2 && reachable(c1, v) && reachable(v, c2))),
          );
          expect([...conflictedStateSubgraph(new Set(conflicted), getEvent)].sort()).toEqual(naive.sort());
        },
      ),
      { numRuns: 300 },
    );
  });
});
