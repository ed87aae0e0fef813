import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../json.ts';
import type { RoomEvent } from '../events/index.ts';
import { ROOM_VERSIONS } from '../roomVersions/index.ts';
import { createTestRoom } from '../../test/builders/index.ts';
import type { StateLookup } from './decision.ts';
import { authEventTuples, checkAuthEventsList, checkAuthRules, isPowerEvent, powerLevelOf, stateLookupOf } from './index.ts';

// Types and keys that reach every rule, plus arbitrary ones.
const TYPES = ['m.room.create', 'm.room.member', 'm.room.power_levels', 'm.room.join_rules', 'm.room.third_party_invite',
  'm.room.redaction', 'm.room.aliases', 'm.room.message', 'constructor', '__proto__'];
const USERS = ['@a:a.example', '@b:b.example', 'constructor', '', '@bad'];
const KEYS = ['membership', 'join_rule', 'users', 'events', 'notifications', 'ban', 'kick', 'invite', 'creator',
  'additional_creators', 'third_party_invite', 'signed', 'join_authorised_via_users_server', 'm.federate', 'room_version',
  'users_default', 'state_default', '__proto__', 'constructor'];

const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom<JsonValue>(null, true, false, 0, 50, 100, -1, 1.5, '50', ' +7 ', 'join', 'invite', 'knock', 'ban', 'leave',
      'public', 'restricted', 'knock_restricted', '@a:a.example', '@b:b.example', 'tok'),
    fc.string(),
    fc.double(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KEYS, ...USERS), fc.string()), tie('value'), { maxKeys: 4 }),
  ),
})).value as fc.Arbitrary<JsonValue>;

const content = fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), jsonValue, { maxKeys: 6 }) as fc.Arbitrary<JsonObject>;

const roomEvent: fc.Arbitrary<RoomEvent> = fc.record({
  eventId: fc.oneof(fc.constantFrom('$c', '$x:a.example'), fc.string()),
  roomId: fc.oneof(fc.constantFrom('!c', '!r:a.example'), fc.string()),
  type: fc.oneof(fc.constantFrom(...TYPES), fc.string()),
  stateKey: fc.option(fc.oneof(fc.constantFrom('', ...USERS), fc.string()), { nil: undefined }),
  sender: fc.oneof(fc.constantFrom(...USERS), fc.string()),
  content: fc.oneof(content, jsonValue as unknown as fc.Arbitrary<JsonObject>),
  originServerTs: fc.integer(),
  depth: fc.integer(),
  prevEventIds: fc.array(fc.constantFrom('$c', '$x:a.example'), { maxLength: 2 }),
  authEventIds: fc.constant([]),
  redacts: fc.option(fc.string(), { nil: undefined }),
  pdu: fc.oneof(content, fc.constant({ room_id: '!c' })),
});

describe('auth never throws on arbitrary events and state', () => {
  it.each([...ROOM_VERSIONS.values()].map((rules) => [rules.id, rules] as const))('room version %s', (_id, rules) => {
    fc.assert(
      fc.property(roomEvent, fc.array(roomEvent, { maxLength: 8 }), (event, stateEvents) => {
        const state = stateLookupOf(stateEvents);
        const decision = checkAuthRules(event, state, rules);
        const list = checkAuthEventsList(event, stateEvents, rules);
        for (const result of [decision, list]) {
          expect(typeof result.allowed).toBe('boolean');
          if (!result.allowed) expect(result.reason.length).toBeGreaterThan(0);
          // The safety net in checkAuthRules must never be what produced the answer.
          if (!result.allowed) expect(result.reason).not.toMatch(/^auth check failed/);
        }
        expect(typeof powerLevelOf(event.sender, state, rules)).toBe('number');
        expect(typeof isPowerEvent(event)).toBe('boolean');
        expect(Array.isArray(authEventTuples(event, rules))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it.each([...ROOM_VERSIONS.values()].map((rules) => [rules.id, rules] as const))('room version %s, over a real room', (_id, rules) => {
    // A joined creator, power levels and join rules underneath, so the deeper rules are reached.
    const room = createTestRoom(rules, '@a:a.example');
    room.send({ type: 'm.room.member', sender: '@a:a.example', stateKey: '@a:a.example', content: { membership: 'join' } });
    room.send({ type: 'm.room.power_levels', sender: '@a:a.example', stateKey: '', content: { users: { '@b:b.example': 50 } } });
    room.send({ type: 'm.room.join_rules', sender: '@a:a.example', stateKey: '', content: { join_rule: 'public' } });
    room.send({ type: 'm.room.member', sender: '@b:b.example', stateKey: '@b:b.example', content: { membership: 'join' } });
    fc.assert(
      fc.property(roomEvent, fc.array(roomEvent.filter((e) => e.type !== 'm.room.create'), { maxLength: 4 }), (event, extra) => {
        const overlay = stateLookupOf(extra);
        const state: StateLookup = (type, stateKey) => overlay(type, stateKey) ?? room.state(type, stateKey);
        const decision = checkAuthRules({ ...event, roomId: room.roomId }, state, rules);
        if (!decision.allowed) expect(decision.reason).not.toMatch(/^auth check failed/);
      }),
      { numRuns: 400 },
    );
  });
});
