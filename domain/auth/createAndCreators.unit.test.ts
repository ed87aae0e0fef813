import { describe, expect, it } from 'vitest';
import { ROOM_VERSIONS } from '../roomVersions/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { buildEvent, createTestRoom } from '../../test/builders/index.ts';
import { expectAllowed as ok, expectDenied as no } from '../../test/builders/index.ts';
import type { EventSpec } from '../../test/builders/index.ts';
import { checkAuthRules, powerLevelOf, roomCreators } from './index.ts';

const alice = '@alice:a.example';
const bob = '@bob:b.example';
const carol = '@carol:c.example';
const versions = [...ROOM_VERSIONS.values()];
const v12Rules = ROOM_VERSIONS.get('12') as RoomVersionRules;

const noState = (): undefined => undefined;

describe.each(versions)('room version $id: m.room.create', (rules) => {
  const v12 = rules.eventFormat.roomIdIsCreateEventHash;
  const roomId = v12 ? '!hash' : '!room:a.example';
  const create = (spec: Partial<EventSpec> = {}) =>
    buildEvent({ type: 'm.room.create', sender: alice, stateKey: '', content: { creator: alice, room_version: rules.id }, ...spec }, roomId);

  it('allows a well-formed create event', () => {
    ok(checkAuthRules(create(), noState, rules));
  });

  it('rejects prev_events and unknown room versions', () => {
    no(checkAuthRules(create({ prevEventIds: ['$x:a.example'] }), noState, rules), /prev_events/);
    no(checkAuthRules(create({ content: { creator: alice, room_version: '99' } }), noState, rules), /room_version/);
    no(checkAuthRules(create({ content: { creator: alice, room_version: 12 } }), noState, rules), /room_version/);
  });

  it('checks the room id: its domain before v12, its absence since', () => {
    if (v12) {
      no(checkAuthRules(create({ pdu: { room_id: '!hash' } }), noState, rules), /must not have a room_id/);
    } else {
      no(checkAuthRules(create({ roomId: '!room:b.example' }), noState, rules), /room_id domain/);
    }
  });

  it('needs content.creator before v11 only', () => {
    const decision = checkAuthRules(create({ content: { room_version: rules.id } }), noState, rules);
    if (rules.auth.creatorIsCreateSender) ok(decision);
    else no(decision, /no creator/);
  });

  it('validates additional_creators since v12 (ignored before)', () => {
    for (const bad of ['@bob:b.example', ['bob'], [5], ['@bob:bad domain!']]) {
      const decision = checkAuthRules(create({ content: { room_version: rules.id, creator: alice, additional_creators: bad } }), noState, rules);
      if (rules.auth.privilegedCreators) no(decision, /additional_creators/);
      else ok(decision);
    }
    ok(checkAuthRules(create({ content: { room_version: rules.id, creator: alice, additional_creators: [bob] } }), noState, rules));
  });

  it('denies events in a room without a create event, and across m.federate: false', () => {
    const message = buildEvent({ type: 'm.room.message', sender: alice, content: {} }, roomId);
    no(checkAuthRules(message, noState, rules), /no m.room.create/);

    const room = createTestRoom(rules, alice, { 'm.federate': false });
    ok(room.send({ type: 'm.room.member', sender: alice, stateKey: alice, content: { membership: 'join' } }));
    ok(room.send({ type: 'm.room.join_rules', sender: alice, stateKey: '', content: { join_rule: 'public' } }));
    no(room.send({ type: 'm.room.member', sender: bob, stateKey: bob, content: { membership: 'join' } }), /m.federate/);
    ok(room.send({ type: 'm.room.member', sender: '@ann:a.example', stateKey: '@ann:a.example', content: { membership: 'join' } }));
  });

  it('gives the creator 100 without power levels (v1–v11) or infinity (v12), others 0', () => {
    const room = createTestRoom(rules, alice);
    expect(powerLevelOf(alice, room.state, rules)).toBe(v12 ? Number.POSITIVE_INFINITY : 100);
    expect(powerLevelOf(bob, room.state, rules)).toBe(0);
    // v1–v10 read content.creator, since v11 the sender.
    const other = buildEvent({ type: 'm.room.create', sender: alice, stateKey: '', content: { creator: bob } }, roomId);
    expect([...roomCreators(other, rules)]).toEqual(rules.auth.creatorIsCreateSender ? [alice] : [bob]);
  });
});

describe('room version 12: creators', () => {
  const rules = v12Rules;
  const join = (user: string): EventSpec => ({ type: 'm.room.member', sender: user, stateKey: user, content: { membership: 'join' } });

  it('makes additional creators infinitely powerful, unlistable and unkickable', () => {
    const room = createTestRoom(rules, alice, { additional_creators: [bob] });
    expect(powerLevelOf(bob, room.state, rules)).toBe(Number.POSITIVE_INFINITY);
    ok(room.send(join(alice)));
    ok(room.send({ type: 'm.room.join_rules', sender: alice, stateKey: '', content: { join_rule: 'public' } }));
    ok(room.send(join(bob)));
    ok(room.send(join(carol)));
    const pl = (users: Record<string, number>): EventSpec => ({ type: 'm.room.power_levels', sender: alice, stateKey: '', content: { users } });
    no(room.send(pl({ [bob]: 100 })), /must not list the room creator @bob/);
    ok(room.send(pl({ [carol]: 1_000_000 })));
    // A very powerful user is still below a creator.
    no(room.send({ type: 'm.room.member', sender: carol, stateKey: bob, content: { membership: 'ban' } }), /not above the target/);
    ok(room.send({ type: 'm.room.member', sender: bob, stateKey: carol, content: { membership: 'ban' } }));
    // Creators pass any power check.
    ok(room.send({ type: 'm.room.power_levels', sender: bob, stateKey: '', content: { users: {}, events_default: 9_007_199_254_740_991 } }));
    ok(room.send({ type: 'm.room.message', sender: bob, content: { body: 'still here' } }));
  });

  it('denies an event whose room id is not the create event id', () => {
    const room = createTestRoom(rules, alice);
    const stray = buildEvent({ type: 'm.room.member', sender: alice, stateKey: alice, content: { membership: 'join' } }, '!other');
    no(checkAuthRules(stray, room.state, rules), /room_id is not/);
  });
});
