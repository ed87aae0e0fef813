/**
 * State resolution v1 (rooms/v1.md), built by hand from the spec's description: conflicts are
 * settled in passes (power levels, join rules, memberships, the rest) against the state R built so
 * far, with depth and sha1(event_id) as the tie-breaks.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../json.ts';
import type { RoomEvent } from '../events/index.ts';
import { roomVersionRules } from '../roomVersions/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { orderByDepthThenSha1, resolveState, splitConflictedStateV1 } from './index.ts';
import { graphEvent, stateMapOf, stateMapToRecord } from '../../test/builders/index.ts';

const rules = roomVersionRules('1') as RoomVersionRules;
const ALICE = '@alice:example.com';
const BOB = '@bob:example.com';
const CAROL = '@carol:example.com';

const state = (name: string, type: string, stateKey: string, sender: string, content: JsonObject, depth: number): RoomEvent =>
  graphEvent(`$${name}:example.com`, [], { type, stateKey, sender, content, depth, originServerTs: depth });

// The common history: alice creates the room, bob joins and is a moderator (50), carol joins.
const create = state('create', 'm.room.create', '', ALICE, { creator: ALICE }, 1);
const aliceJoin = state('alice', 'm.room.member', ALICE, ALICE, { membership: 'join' }, 2);
const power = state('pl', 'm.room.power_levels', '', ALICE, { users: { [ALICE]: 100, [BOB]: 50 } }, 3);
const joinRules = state('jr', 'm.room.join_rules', '', ALICE, { join_rule: 'public' }, 4);
const bobJoin = state('bob', 'm.room.member', BOB, BOB, { membership: 'join' }, 5);
const carolJoin = state('carol', 'm.room.member', CAROL, CAROL, { membership: 'join' }, 6);
const base = [create, aliceJoin, power, joinRules, bobJoin, carolJoin];

const resolve = (forks: readonly (readonly RoomEvent[])[]): Record<string, string> => {
  const store = new Map<string, RoomEvent>();
  for (const event of [...base, ...forks.flat()]) store.set(event.eventId, event);
  const stateSets = forks.map((fork) => stateMapOf([...base, ...fork]));
  return stateMapToRecord(resolveState({ stateSets, getEvent: (id) => store.get(id) }, rules));
};

const sha1 = (id: string): string => createHash('sha1').update(id).digest('hex');

describe('state resolution v1', () => {
  it('only calls different event ids for one key a conflict', () => {
    const topic = state('topic', 'm.room.topic', '', ALICE, { topic: 'a' }, 7);
    const split = splitConflictedStateV1([stateMapOf([create, topic]), stateMapOf([create])]);
    expect([...split.unconflicted.values()].sort()).toEqual([create.eventId, topic.eventId].sort());
    expect(split.conflicted.size).toBe(0);
  });

  it('sorts by ascending depth, then descending sha1(event_id)', () => {
    const a = state('a', 'm.room.topic', '', ALICE, {}, 9);
    const b = state('b', 'm.room.topic', '', ALICE, {}, 8);
    const c = state('c', 'm.room.topic', '', ALICE, {}, 8);
    const [high, low] = sha1(b.eventId) > sha1(c.eventId) ? [b, c] : [c, b];
    expect(orderByDepthThenSha1([a, b, c]).map((e) => e.eventId)).toEqual([high.eventId, low.eventId, a.eventId]);
  });

  it('keeps the deeper power levels only when R allows it', () => {
    // Alice (100) raises carol; bob (50) concurrently tries to make himself 100: not allowed.
    const byAlice = state('pl-alice', 'm.room.power_levels', '', ALICE, { users: { [ALICE]: 100, [BOB]: 50, [CAROL]: 50 } }, 7);
    const byBob = state('pl-bob', 'm.room.power_levels', '', BOB, { users: { [ALICE]: 100, [BOB]: 100 } }, 8);
    expect(resolve([[byAlice], [byBob]])['m.room.power_levels|']).toBe(byAlice.eventId);
    // Deeper and allowed: alice's later change wins over bob's earlier harmless one.
    const bobHarmless = state('pl-bob2', 'm.room.power_levels', '', BOB, { users: { [ALICE]: 100, [BOB]: 50 }, events: { 'm.room.topic': 50 } }, 7);
    const aliceLater = state('pl-alice2', 'm.room.power_levels', '', ALICE, { users: { [ALICE]: 100, [BOB]: 0 } }, 8);
    expect(resolve([[bobHarmless], [aliceLater]])['m.room.power_levels|']).toBe(aliceLater.eventId);
  });

  it('stops at the first power levels event R does not allow', () => {
    // Sorted: demote-bob (7), bob's change (8), alice's (9). Bob is demoted by then, so the pass
    // stops at bob's event and never reaches alice's deeper one.
    const demote = state('pl-1', 'm.room.power_levels', '', ALICE, { users: { [ALICE]: 100 } }, 7);
    const bobs = state('pl-2', 'm.room.power_levels', '', BOB, { users: { [ALICE]: 100, [BOB]: 50 }, state_default: 40 }, 8);
    const alices = state('pl-3', 'm.room.power_levels', '', ALICE, { users: { [ALICE]: 100, [CAROL]: 10 } }, 9);
    expect(resolve([[demote], [bobs], [alices]])['m.room.power_levels|']).toBe(demote.eventId);
  });

  it('resolves membership after power levels: a ban beats the earlier join', () => {
    const dave = '@dave:example.com';
    const daveJoin = state('dave-join', 'm.room.member', dave, dave, { membership: 'join' }, 7);
    const daveBan = state('dave-ban', 'm.room.member', dave, ALICE, { membership: 'ban' }, 8);
    expect(resolve([[daveJoin], [daveBan]])[`m.room.member|${dave}`]).toBe(daveBan.eventId);
  });

  it('picks the deepest other event that passes auth in R', () => {
    const aliceTopic = state('topic-alice', 'm.room.topic', '', ALICE, { topic: 'alice' }, 7);
    const carolTopic = state('topic-carol', 'm.room.topic', '', CAROL, { topic: 'carol' }, 9);
    const bobTopic = state('topic-bob', 'm.room.topic', '', BOB, { topic: 'bob' }, 8);
    // Carol (0) may not set the topic (state_default 50); bob (50) may.
    expect(resolve([[aliceTopic], [carolTopic], [bobTopic]])['m.room.topic|']).toBe(bobTopic.eventId);
  });

  it('breaks depth ties on the lowest sha1(event_id)', () => {
    const x = state('topic-x', 'm.room.topic', '', ALICE, { topic: 'x' }, 7);
    const y = state('topic-y', 'm.room.topic', '', ALICE, { topic: 'y' }, 7);
    const lowest = sha1(x.eventId) < sha1(y.eventId) ? x : y;
    expect(resolve([[x], [y]])['m.room.topic|']).toBe(lowest.eventId);
    expect(resolve([[y], [x]])['m.room.topic|']).toBe(lowest.eventId);
  });

  it('keeps the least deep candidate when none passes auth (as Synapse does)', () => {
    const carolA = state('name-a', 'm.room.name', '', CAROL, { name: 'a' }, 7);
    const carolB = state('name-b', 'm.room.name', '', CAROL, { name: 'b' }, 8);
    expect(resolve([[carolA], [carolB]])['m.room.name|']).toBe(carolA.eventId);
  });

  it('keeps unconflicted state untouched', () => {
    const result = resolve([[state('t', 'm.room.topic', '', ALICE, {}, 7)], []]);
    expect(result['m.room.create|']).toBe(create.eventId);
    expect(result['m.room.topic|']).toBe('$t:example.com');
  });
});
