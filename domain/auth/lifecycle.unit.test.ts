import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../json.ts';
import { ROOM_VERSIONS } from '../roomVersions/index.ts';
import { createTestRoom } from '../../test/builders/index.ts';
import { expectAllowed as ok, expectDenied as no } from '../../test/builders/index.ts';
import type { EventSpec, TestRoom } from '../../test/builders/index.ts';
import { powerLevelOf, redactionTakesEffect } from './index.ts';

const alice = '@alice:a.example';
const bob = '@bob:b.example';
const carol = '@carol:c.example';
const dave = '@dave:d.example';
const erin = '@erin:e.example';
const frank = '@frank:f.example';
const george = '@george:g.example';
const harry = '@harry:h.example';


const member = (sender: string, target: string, membership: string, extra: JsonObject = {}): EventSpec => ({
  type: 'm.room.member',
  sender,
  stateKey: target,
  content: { membership, ...extra },
});
const joinRules = (joinRule: string): EventSpec => ({
  type: 'm.room.join_rules',
  sender: alice,
  stateKey: '',
  content: { join_rule: joinRule, ...(joinRule.includes('restricted') ? { allow: [] } : {}) },
});
const message = (sender: string, body = 'hi'): EventSpec => ({ type: 'm.room.message', sender, content: { msgtype: 'm.text', body } });

/** The current power levels content with `changes` applied (users merged). */
const powerLevels = (room: TestRoom, sender: string, changes: JsonObject, users: JsonObject = {}): EventSpec => {
  const current = room.state('m.room.power_levels', '')?.content ?? {};
  const currentUsers = (current.users ?? {}) as JsonObject;
  return {
    type: 'm.room.power_levels',
    sender,
    stateKey: '',
    content: { ...current, ...changes, users: { ...currentUsers, ...users } },
  };
};

describe.each([...ROOM_VERSIONS.values()])('room version $id: a room through its life', (rules) => {
  const v12 = rules.auth.privilegedCreators;

  it('creates the room, sets power and join rules, invites, joins, moderates, redacts', () => {
    const room = createTestRoom(rules, alice);

    // Creation: only the creator's first join is allowed before anything else.
    no(room.send(message(alice)), /not joined/);
    no(room.send(member(bob, bob, 'join')), /not invited/);
    no(room.send(member(alice, bob, 'join')), /sender does not match/);
    ok(room.send(member(alice, alice, 'join')));

    // Initial power levels. Since v12 the creator must not be listed.
    if (v12) no(room.send(powerLevels(room, alice, {}, { [alice]: 100 })), /must not list the room creator/);
    ok(room.send(powerLevels(room, alice, { invite: 0 }, v12 ? {} : { [alice]: 100 })));
    expect(powerLevelOf(alice, room.state, rules)).toBe(v12 ? Number.POSITIVE_INFINITY : 100);
    ok(room.send(joinRules('invite')));

    // Invites.
    no(room.send(member(bob, bob, 'join')), /not invited/);
    ok(room.send(member(alice, bob, 'invite')));
    no(room.send(message(bob)), /not joined/);
    ok(room.send(member(bob, bob, 'join')));
    no(room.send(member(alice, bob, 'invite')), /already joined/);

    // Messages and state need power; a state key naming a user must be the sender.
    ok(room.send(message(bob)));
    no(room.send({ type: 'm.room.name', sender: bob, stateKey: '', content: { name: 'x' } }), /needs power level 50/);
    no(room.send({ type: 'org.example.profile', sender: alice, stateKey: bob, content: {} }), /starting with @/);
    ok(room.send({ type: 'org.example.profile', sender: alice, stateKey: alice, content: {} }));

    // Power changes: a moderator cannot raise anyone above itself or touch its equals and betters.
    ok(room.send(powerLevels(room, alice, {}, { [bob]: 50 })));
    no(room.send(powerLevels(room, bob, {}, { [carol]: 60 })), /cannot set users\[@carol:c.example\] to 60/);
    ok(room.send(powerLevels(room, bob, {}, { [carol]: 50 })));
    no(room.send(powerLevels(room, bob, {}, { [carol]: 0 })), /cannot change users\[@carol:c.example\] from 50/);
    no(room.send(powerLevels(room, bob, {}, { [alice]: 0 })), v12 ? /must not list the room creator/ : /from 100/);
    no(room.send(powerLevels(room, bob, { ban: 60 })), /cannot set ban to 60/);
    ok(room.send(powerLevels(room, bob, { kick: 40 })));

    // Public room: anyone joins; kicks, bans and unbans follow the levels.
    ok(room.send(joinRules('public')));
    ok(room.send(member(carol, carol, 'join')));
    ok(room.send(member(dave, dave, 'join')));
    ok(room.send(member(carol, dave, 'leave')));
    no(room.send(message(dave)), /not joined/);
    ok(room.send(member(dave, dave, 'join')));
    no(room.send(member(dave, carol, 'leave')), /kick/);
    no(room.send(member(dave, carol, 'ban')), /ban/);
    no(room.send(member(bob, carol, 'ban')), /not above the target/);
    no(room.send(member(bob, alice, 'leave')), /not above the target/);
    ok(room.send(member(bob, dave, 'ban')));
    no(room.send(member(dave, dave, 'join')), /banned/);
    no(room.send(member(dave, dave, 'leave')), /cannot leave with membership ban/);
    no(room.send(member(erin, dave, 'leave')), /not joined/);
    ok(room.send(member(bob, dave, 'leave')));
    ok(room.send(member(dave, dave, 'join')));

    // The invite level.
    ok(room.send(powerLevels(room, alice, { invite: 50 })));
    no(room.send(member(dave, erin, 'invite')), /below the invite level/);
    ok(room.send(member(bob, erin, 'invite')));
    ok(room.send(member(erin, erin, 'leave')));
    no(room.send({ type: 'm.room.third_party_invite', sender: dave, stateKey: 'tok', content: {} }), /invite level/);
    ok(room.send({ type: 'm.room.third_party_invite', sender: bob, stateKey: 'tok', content: {} }));

    // Knocking (since v7).
    ok(room.send(joinRules('knock')));
    if (rules.auth.knocking) {
      ok(room.send(member(erin, erin, 'knock')));
      no(room.send(member(erin, frank, 'knock')), /sender does not match/);
      ok(room.send(member(erin, erin, 'leave')));
      ok(room.send(member(erin, erin, 'knock')));
      no(room.send(member(erin, erin, 'join')), /not invited/);
      ok(room.send(member(bob, erin, 'invite')));
      no(room.send(member(erin, erin, 'knock')), /membership is invite/);
      ok(room.send(member(erin, erin, 'join')));
    } else {
      no(room.send(member(erin, erin, 'knock')), /knock membership is not supported/);
      ok(room.send(member(bob, erin, 'invite')));
      no(room.send(member(erin, erin, 'join')), /does not allow joining/);
    }
    ok(room.send(member(erin, erin, 'leave')));

    // Restricted joins (since v8).
    ok(room.send(joinRules('restricted')));
    const via = (user: string): JsonObject => ({ join_authorised_via_users_server: user });
    if (rules.auth.restrictedJoins) {
      no(room.send(member(frank, frank, 'join')), /no join_authorised_via_users_server/);
      no(room.send(member(frank, frank, 'join', via(dave))), /may not invite/);
      no(room.send(member(frank, frank, 'join', via(erin))), /not joined/);
      ok(room.send(member(frank, frank, 'join', via(bob))));
    } else {
      no(room.send(member(frank, frank, 'join', via(bob))), /does not allow joining/);
    }

    // knock_restricted (since v10): both knocking and restricted joins.
    ok(room.send(joinRules('knock_restricted')));
    if (rules.auth.knockRestrictedJoinRule) {
      ok(room.send(member(george, george, 'knock')));
      ok(room.send(member(harry, harry, 'join', via(bob))));
    } else {
      no(room.send(member(george, george, 'knock')), /knock/);
      no(room.send(member(harry, harry, 'join', via(bob))), /does not allow joining/);
    }

    // Redactions: v1–v2 check them in auth; since v3 auth allows them and handling decides.
    const original = room.send(message(carol));
    ok(original);
    const byDave = room.send({ type: 'm.room.redaction', sender: dave, redacts: original.event.eventId, content: {} });
    if (rules.auth.redactionDomainCheckInAuth) {
      no(byDave, /redact level/);
    } else {
      ok(byDave);
      expect(redactionTakesEffect(byDave.event, original.event, room.state, rules)).toBe(false);
    }
    const byCarol = room.send({ type: 'm.room.redaction', sender: carol, redacts: original.event.eventId, content: {} });
    ok(byCarol);
    expect(redactionTakesEffect(byCarol.event, original.event, room.state, rules)).toBe(true);
    const byBob = room.send({ type: 'm.room.redaction', sender: bob, redacts: original.event.eventId, content: {} });
    ok(byBob);
    expect(redactionTakesEffect(byBob.event, original.event, room.state, rules)).toBe(true);
    ok(room.send(powerLevels(room, alice, { events: { 'm.room.redaction': 50 } })));
    no(room.send({ type: 'm.room.redaction', sender: dave, redacts: original.event.eventId, content: {} }), /needs power level 50/);

    // m.room.aliases: its own rule in v1–v5 (even for non-members), an ordinary state event since v6.
    const aliases = (sender: string, stateKey: string): EventSpec => ({ type: 'm.room.aliases', sender, stateKey, content: { aliases: [] } });
    if (rules.auth.specialCaseAliasesEvent) {
      ok(room.send(aliases(dave, 'd.example')));
      ok(room.send(aliases(erin, 'e.example')));
      no(room.send(aliases(dave, 'a.example')), /sender's domain/);
    } else {
      no(room.send(aliases(dave, 'd.example')), /needs power level 50/);
      no(room.send(aliases(erin, 'e.example')), /not joined/);
    }

    // notifications (since v6) need the sender's power; integer power levels (since v10).
    const notify = room.send(powerLevels(room, carol, { notifications: { room: 75 } }));
    if (rules.auth.limitNotificationsPowerLevels) no(notify, /notifications\[room\]/);
    else ok(notify);
    const stringy = room.send(powerLevels(room, alice, { ban: '50' }, { [dave]: ' +10 ' }));
    if (rules.auth.integerPowerLevels) {
      no(stringy, /ban is not a valid power level/);
    } else {
      ok(stringy);
      expect(powerLevelOf(dave, room.state, rules)).toBe(10);
    }

    // Demoting: the creator can demote a moderator; a moderator may lower itself.
    ok(room.send(powerLevels(room, bob, {}, { [bob]: 10 })));
    ok(room.send(powerLevels(room, alice, {}, { [bob]: 0, [carol]: 0 })));
    no(room.send(powerLevels(room, bob, {}, { [bob]: 50 })), /needs power level 50/);
  });
});
