/**
 * The step helpers on small hand-built graphs: the conflicted/unconflicted split, mainline
 * ordering, iterative auth checks (state first, then non-rejected auth events), and the heap.
 */
import { describe, expect, it } from 'vitest';
import type { RoomEvent } from '../events/index.ts';
import { stateKeyOf } from '../events/index.ts';
import { roomVersionRules } from '../roomVersions/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { MinHeap, iterativeAuthChecks, mainlineOf, mainlineOrdering, splitConflictedState } from './index.ts';
import { eventStore, graphEvent } from '../../test/builders/index.ts';

const ALICE = '@alice:example.com';
const rules = roomVersionRules('10') as RoomVersionRules;

describe('splitConflictedState', () => {
  it('puts a key missing from one state set in the conflicted state set', () => {
    const { unconflicted, conflicted } = splitConflictedState([
      new Map([['a', '$1'], ['b', '$2'], ['c', '$3']]),
      new Map([['a', '$1'], ['b', '$4']]),
    ]);
    expect([...unconflicted]).toEqual([['a', '$1']]);
    expect(Object.fromEntries(conflicted)).toEqual({ b: ['$2', '$4'], c: ['$3'] });
  });
});

describe('mainline ordering', () => {
  const pl = (id: string, auth: string[], ts: number) => graphEvent(id, auth, { type: 'm.room.power_levels', stateKey: '', originServerTs: ts });
  const topic = (id: string, auth: string[], ts: number) => graphEvent(id, auth, { type: 'm.room.topic', stateKey: '', originServerTs: ts });
  const store = eventStore([
    pl('$pl1', [], 1),
    pl('$pl2', ['$pl1'], 2),
    pl('$side', ['$pl1'], 3),
    topic('$a', ['$pl2'], 10),
    topic('$b', ['$pl1'], 12),
    topic('$c', [], 20),
    topic('$d', ['$side'], 11),
  ]);
  const getEvent = (id: string) => store.get(id);

  it('walks the mainline through power levels auth events', () => {
    expect(mainlineOf('$pl2', getEvent)).toEqual(['$pl2', '$pl1']);
  });

  it('orders ∞ first, then older mainline positions, then origin_server_ts', () => {
    // $c cites no power levels (∞); $d via $side and $b reach $pl1 (1); $a reaches $pl2 (0).
    expect(mainlineOrdering(['$a', '$b', '$c', '$d'], '$pl2', getEvent)).toEqual(['$c', '$d', '$b', '$a']);
  });

  it('falls back to origin_server_ts and event_id without power levels', () => {
    expect(mainlineOrdering(['$c', '$a', '$b'], undefined, getEvent)).toEqual(['$a', '$b', '$c']);
  });
});

describe('iterative auth checks', () => {
  const create = graphEvent('$create', [], { type: 'm.room.create', stateKey: '', content: { creator: ALICE, room_version: '10' } });
  const join = graphEvent('$join', ['$create'], { type: 'm.room.member', stateKey: ALICE, content: { membership: 'join' } });
  const power = graphEvent('$pl', ['$create', '$join'], { type: 'm.room.power_levels', stateKey: '', content: { users: { [ALICE]: 100 } } });
  const demoted = graphEvent('$pl0', ['$create', '$join', '$pl'], { type: 'm.room.power_levels', stateKey: '', content: { users: {} } });
  const topic = graphEvent('$topic', ['$create', '$join', '$pl'], { type: 'm.room.topic', stateKey: '', content: { topic: 'x' } });
  const store = eventStore([create, join, power, demoted, topic]);
  const context = (rejected: readonly string[] = []) => ({
    getEvent: (id: string): RoomEvent | undefined => store.get(id),
    isRejected: (id: string) => rejected.includes(id),
    rules,
  });
  const TOPIC = stateKeyOf('m.room.topic', '');

  it('uses the auth events for keys the state lacks', () => {
    expect(iterativeAuthChecks(new Map(), ['$topic'], context()).get(TOPIC)).toBe('$topic');
  });

  it('skips rejected auth events', () => {
    expect(iterativeAuthChecks(new Map(), ['$topic'], context(['$join'])).has(TOPIC)).toBe(false);
  });

  it('prefers the state over the auth events', () => {
    const state = new Map([[stateKeyOf('m.room.power_levels', ''), '$pl0']]);
    // Under $pl0 alice has 0 and the topic needs state_default 50.
    expect(iterativeAuthChecks(state, ['$topic'], context()).has(TOPIC)).toBe(false);
  });

  it('applies events in order, each against the state so far', () => {
    const result = iterativeAuthChecks(new Map(), ['$create', '$join', '$pl', '$pl0', '$topic'], context());
    expect(result.get(stateKeyOf('m.room.power_levels', ''))).toBe('$pl0');
    expect(result.has(TOPIC)).toBe(false);
  });
});

describe('MinHeap', () => {
  it('pops in ascending order', () => {
    const heap = new MinHeap<number>((a, b) => a < b);
    for (const n of [5, 3, 9, 1, 7, 3, 0]) heap.push(n);
    const out: number[] = [];
    for (let n = heap.pop(); n !== undefined; n = heap.pop()) out.push(n);
    expect(out).toEqual([0, 1, 3, 3, 5, 7, 9]);
  });
});
