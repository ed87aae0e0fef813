/**
 * ruma's state resolution fixtures (../shared/spec/vectors/state-res/ruma, MIT), driven from
 * tests.json so a new manifest entry runs without code changes. "batches" tests resolve three ways
 * (PDU by PDU along prev_events, file by file, all at once) and all must equal the expected state;
 * "state_maps" tests resolve the given state maps in one call.
 */
import { readSpecVector } from '../../test/fixtures/index.ts';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../json.ts';
import type { RoomEvent, StateMap } from '../events/index.ts';
import { stateKeyOf } from '../events/index.ts';
import { roomVersionRules } from '../roomVersions/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { resolveState } from './index.ts';
import { eventStore, roomEventFromJson, stateMapOf, stateMapToRecord } from '../../test/builders/index.ts';

const readJson = <T>(path: string): T => readSpecVector<T>(`state-res/ruma/${path}`);

interface RumaTest {
  readonly name: string;
  readonly mode: string;
  readonly room_version: string;
  readonly pdu_files: readonly string[];
  readonly state_map_files: readonly string[] | null;
  readonly expected_file: string;
  readonly expected_state: Record<string, string>;
}

const manifest = readJson<{ tests: RumaTest[] }>('tests.json');

const loadBatches = (files: readonly string[]): RoomEvent[][] => {
  // v12 create events carry no room_id; roomEventFromJson then uses the create event id with `!`.
  const batches = files.map((file) => readJson<JsonObject[]>(file).map((json) => roomEventFromJson(json)));
  const create = batches[0]?.[0];
  if (create === undefined || create.type !== 'm.room.create') throw new Error('the first PDU must be m.room.create');
  return batches;
};

const resolveWith = (store: Map<string, RoomEvent>, rules: RoomVersionRules) => (stateSets: readonly StateMap[]) =>
  resolveState({ stateSets, getEvent: (id) => store.get(id) }, rules);

/** ruma's "resolve iteratively": walk prev_events forward, resolving each event against its parents' states. */
const resolveIteratively = (events: readonly RoomEvent[], rules: RoomVersionRules): StateMap => {
  const store = eventStore(events);
  const resolve = resolveWith(store, rules);
  const children = new Map<string, string[]>();
  for (const event of events) for (const prev of event.prevEventIds) children.set(prev, [...(children.get(prev) ?? []), event.eventId]);
  const stack = events.filter((event) => event.type === 'm.room.create' && event.prevEventIds.length === 0).map((e) => e.eventId);
  const stateAt = new Map<string, StateMap>();
  const leaves: string[] = [];
  while (stack.length > 0) {
    const eventId = stack.pop() as string;
    const event = store.get(eventId) as RoomEvent;
    if (stateAt.has(eventId)) continue;
    const before = event.prevEventIds.map((prev) => stateAt.get(prev));
    if (before.some((state) => state === undefined)) continue; // revisited from its other parent
    const stateBefore = resolve(before as StateMap[]);
    const proposed = new Map(stateBefore).set(stateKeyOf(event.type, event.stateKey as string), eventId);
    stateAt.set(eventId, resolve([stateBefore, proposed]));
    const next = children.get(eventId);
    if (next === undefined) leaves.push(eventId);
    else stack.push(...next);
  }
  expect(stateAt.size).toBe(store.size);
  return resolve(leaves.map((leaf) => stateAt.get(leaf) as StateMap));
};

/** ruma's "resolve batch": the state so far plus one single-entry state map per PDU. */
const resolveBatch = (events: readonly RoomEvent[], store: Map<string, RoomEvent>, rules: RoomVersionRules, previous?: StateMap): StateMap => {
  for (const event of events) store.set(event.eventId, event);
  const stateSets: StateMap[] = previous === undefined ? [] : [previous];
  for (const event of events) stateSets.push(stateMapOf([event]));
  return resolveWith(store, rules)(stateSets);
};

const rulesOf = (test: RumaTest): RoomVersionRules => {
  const rules = roomVersionRules(test.room_version);
  if (rules === undefined) throw new Error(`unknown room version ${test.room_version}`);
  return rules;
};

const runners: Record<string, (test: RumaTest) => void> = {
  batches: (test) => {
    const rules = rulesOf(test);
    const batches = loadBatches(test.pdu_files);
    const all = batches.flat();
    const iterative = resolveIteratively(all, rules);
    let batched: StateMap | undefined;
    const batchStore = new Map<string, RoomEvent>();
    for (const batch of batches) batched = resolveBatch(batch, batchStore, rules, batched);
    const atomic = resolveBatch(all, new Map(), rules);
    expect(stateMapToRecord(iterative), 'iterative').toEqual(test.expected_state);
    expect(stateMapToRecord(batched as StateMap), 'batched').toEqual(test.expected_state);
    expect(stateMapToRecord(atomic), 'atomic').toEqual(test.expected_state);
  },
  state_maps: (test) => {
    const rules = rulesOf(test);
    const store = eventStore(loadBatches(test.pdu_files).flat());
    const stateSets = (test.state_map_files ?? []).map((file) =>
      stateMapOf(readJson<string[]>(file).map((id) => {
        const event = store.get(id);
        if (event === undefined) throw new Error(`${file}: unknown event ${id}`);
        return event;
      })),
    );
    expect(stateSets.length).toBeGreaterThan(1);
    expect(stateMapToRecord(resolveWith(store, rules)(stateSets))).toEqual(test.expected_state);
  },
};

describe('ruma state resolution fixtures', () => {
  it('has tests', () => expect(manifest.tests.length).toBeGreaterThan(0));

  for (const test of manifest.tests) {
    it(`${test.name} (${test.mode}, room v${test.room_version})`, () => {
      // The manifest's expected_state must agree with the snapshot it was taken from.
      const expected = readJson<{ type: string; state_key: string; event_id: string }[]>(test.expected_file);
      expect(Object.fromEntries(expected.map((e) => [`${e.type}|${e.state_key}`, e.event_id]))).toEqual(test.expected_state);
      const run = runners[test.mode];
      if (run === undefined) throw new Error(`unknown test mode ${test.mode}`);
      run(test);
    });
  }
});
