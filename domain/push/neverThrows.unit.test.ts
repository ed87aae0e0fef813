// Properties over arbitrary input: rules and events are user data, so evaluation must be total.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultRules } from '../app/userData/index.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import { evaluatePushRules, type EvaluableRuleset, type PushContext } from './index.ts';

const ME = '@me:example.org';
const USERS = [ME, '@bob:example.org', 'constructor', '__proto__', ''];
const KEYS = ['type', 'content', 'sender', 'room_id', 'state_key', 'body', 'msgtype', 'm.mentions', 'user_ids', 'room',
  'm.relates_to', 'rel_type', 'membership', '__proto__', 'constructor', 'toString'];
const KEY_PATHS = ['type', 'content.body', 'content.msgtype', 'content.m\\.mentions.user_ids', 'content.m\\.mentions.room',
  'content.m\\.relates_to.rel_type', 'state_key', 'sender', 'constructor', 'content.__proto__', 'a\\', '', 'content..body'];

const jsonValue: fc.Arbitrary<JsonValue> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom<JsonValue>(null, true, false, 0, 2, 50, -1, 1.5, 2 ** 60, 'm.room.message', 'm.notice', 'm.replace', 'invite', ''),
    fc.constantFrom<JsonValue>(...USERS, ...KEY_PATHS),
    fc.string(),
    fc.double(),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), tie('value'), { maxKeys: 4 }),
  ),
})).value as fc.Arbitrary<JsonValue>;

const jsonObject = fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), jsonValue, { maxKeys: 6 }) as fc.Arbitrary<JsonObject>;

/** Events that often look like real ones, sometimes with garbage in any field. */
const event: fc.Arbitrary<JsonObject> = fc.oneof(
  jsonObject,
  fc.record({
    type: fc.oneof(fc.constantFrom('m.room.message', 'm.room.member', 'm.room.encrypted', 'm.reaction', 'm.room.tombstone'), jsonValue),
    content: fc.oneof(jsonObject, jsonValue),
    sender: fc.oneof(fc.constantFrom(...USERS), jsonValue),
    room_id: fc.oneof(fc.constant('!r:example.org'), jsonValue),
    state_key: fc.oneof(fc.constantFrom('', ME), jsonValue),
  }, { requiredKeys: [] }) as fc.Arbitrary<JsonObject>,
  fc.record({
    type: fc.constant('m.room.message'),
    content: fc.record({ body: fc.string(), 'm.mentions': fc.record({ user_ids: fc.subarray(USERS), room: fc.boolean() }) }),
    sender: fc.constantFrom(...USERS),
    room_id: fc.constant('!r:example.org'),
  }) as fc.Arbitrary<JsonObject>,
);

const condition: fc.Arbitrary<JsonValue> = fc.oneof(
  jsonValue,
  fc.record({
    kind: fc.oneof(fc.constantFrom('event_match', 'event_property_is', 'event_property_contains', 'contains_display_name',
      'room_member_count', 'sender_notification_permission', 'org.example.unknown'), jsonValue),
    key: fc.oneof(fc.constantFrom(...KEY_PATHS), jsonValue),
    pattern: fc.oneof(fc.constantFrom('*', '?', '*a*', 'm.*', ''), jsonValue),
    value: jsonValue,
    is: fc.oneof(fc.constantFrom('2', '<=10', '>1', '==0', 'x'), jsonValue),
  }, { requiredKeys: ['kind'] }),
);

const rule: fc.Arbitrary<JsonValue> = fc.oneof(
  jsonValue,
  fc.record({
    rule_id: fc.oneof(fc.constantFrom('!r:example.org', ...USERS), jsonValue),
    enabled: fc.oneof(fc.boolean(), jsonValue),
    actions: fc.oneof(fc.array(fc.oneof(fc.constantFrom<JsonValue>('notify', 'dont_notify', 'coalesce',
      { set_tweak: 'highlight' }, { set_tweak: 'sound', value: 'x' }), jsonValue), { maxLength: 3 }), jsonValue),
    conditions: fc.oneof(fc.array(condition, { maxLength: 3 }), jsonValue),
    pattern: fc.oneof(fc.constantFrom('*', 'a*b', ''), jsonValue),
  }, { requiredKeys: [] }),
);

const kinds = ['override', 'content', 'room', 'sender', 'underride', '__proto__', 'other'];
const ruleset = fc.oneof(
  fc.dictionary(fc.constantFrom(...kinds), fc.oneof(fc.array(rule, { maxLength: 4 }), jsonValue), { maxKeys: 6 }),
  fc.constant(defaultRules(ME) as unknown as JsonObject),
  jsonValue,
) as unknown as fc.Arbitrary<EvaluableRuleset>;

const context: fc.Arbitrary<PushContext> = fc.record({
  userId: fc.constantFrom(...USERS),
  displayName: fc.option(fc.oneof(fc.constantFrom('', 'me', '*'), fc.string()), { nil: undefined }),
  roomMemberCount: fc.integer({ min: 0, max: 1_000 }),
  senderPowerLevel: fc.integer({ min: -10, max: 100 }),
  notificationPowerLevels: fc.dictionary(fc.constantFrom('room', 'constructor', 'other'), fc.integer({ min: 0, max: 100 })),
});

describe('evaluatePushRules on arbitrary input', () => {
  it('never throws, and answers with a well-formed evaluation', () => {
    const seen = { notify: 0, highlight: 0, silentMatch: 0 };
    fc.assert(fc.property(ruleset, event, context, (rules, e, ctx) => {
      const result = evaluatePushRules(rules, e, ctx);
      if (result.notify) seen.notify += 1;
      if (result.highlight) seen.highlight += 1;
      if (!result.notify && result.ruleId !== undefined) seen.silentMatch += 1;
      expect(typeof result.notify).toBe('boolean');
      expect(typeof result.highlight).toBe('boolean');
      // A highlight or a sound only comes with a notification.
      if (!result.notify) expect([result.highlight, result.sound]).toEqual([false, undefined]);
      if (result.ruleId !== undefined) expect(typeof result.ruleId).toBe('string');
    }), { numRuns: 3_000 });
    // The generators reach every outcome, so the property above is not vacuous.
    expect(Object.values(seen).every((count) => count > 0)).toBe(true);
  });

  it('never notifies a user of their own events', () => {
    fc.assert(fc.property(ruleset, event, context, (rules, e, ctx) => {
      expect(evaluatePushRules(rules, { ...e, sender: ctx.userId }, ctx)).toEqual({ notify: false, highlight: false, tweaks: {}, actions: [] });
    }), { numRuns: 500 });
  });
});
