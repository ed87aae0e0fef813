// The user's own rules: kinds, order, conditions and actions, on top of the default rules.
import { describe, expect, it } from 'vitest';
import { effectiveRuleset, putRule, ruleFromBody, setEnabled } from '../app/userData/pushRuleset.ts';
import type { JsonObject } from '../json.ts';
import { evaluatePushRules, type EvaluableRule, type EvaluableRuleset, type PushContext } from './index.ts';

const ME = '@me:example.org';
const ROOM = '!room:example.org';
const context: PushContext = { userId: ME, displayName: 'Alice', roomMemberCount: 30, senderPowerLevel: 0, notificationPowerLevels: { room: 50 } };
const text = (body: string, more: JsonObject = {}): JsonObject =>
  ({ type: 'm.room.message', content: { msgtype: 'm.text', body, ...more }, sender: '@bob:example.org', room_id: ROOM });

/** A ruleset of one override rule with the given conditions. */
const only = (conditions: JsonObject[], actions: (string | JsonObject)[] = ['notify']): EvaluableRuleset =>
  ({ override: [{ rule_id: 'only', enabled: true, conditions, actions }] });
const matches = (conditions: JsonObject[], event: JsonObject, ctx: PushContext = context): boolean =>
  evaluatePushRules(only(conditions), event, ctx).ruleId === 'only';

describe("a user's content rule with a glob", () => {
  // The spec's example: always notify, with a sound, for messages with the word 'cake'.
  const cake = ruleFromBody('content', 'cake', { pattern: 'cake', actions: ['notify', { set_tweak: 'sound', value: 'cakealarm.wav' }] });
  const lie = ruleFromBody('content', 'lie', { pattern: 'cake*lie', actions: ['notify'] });
  let ruleset = putRule(effectiveRuleset(ME, undefined), 'content', cake, {});
  ruleset = putRule(ruleset, 'content', lie, { before: 'cake' });

  it('matches a word in the body at word boundaries and beats the underride rules', () => {
    expect(evaluatePushRules(ruleset, text('Cake, anyone?'), context)).toMatchObject({ notify: true, sound: 'cakealarm.wav', ruleId: 'cake' });
    expect(evaluatePushRules(ruleset, text('pancakes, anyone?'), context)).toMatchObject({ ruleId: '.m.rule.message' });
  });

  it('lets an earlier rule of the same kind win the tie-break', () => {
    const both = evaluatePushRules(ruleset, text('the cake is a lie'), context);
    expect(both).toMatchObject({ notify: true, ruleId: 'lie' });
    expect(both.sound).toBeUndefined();
  });

  it('skips a disabled rule and falls through to the next', () => {
    const disabled = setEnabled(ruleset, 'content', 'lie', false);
    expect(evaluatePushRules(disabled, text('the cake is a lie'), context)).toMatchObject({ ruleId: 'cake' });
  });

  it('ignores a content rule without a string pattern, and events without a string body', () => {
    const broken: EvaluableRuleset = { content: [{ rule_id: 'x', enabled: true, actions: ['notify'] }] };
    expect(evaluatePushRules(broken, text('anything'), context)).toMatchObject({ notify: false });
    const noBody = { ...text(''), content: { body: 42 } };
    expect(evaluatePushRules(ruleset, noBody, context)).toMatchObject({ ruleId: '.m.rule.message' });
  });
});

describe('rule kinds and their order', () => {
  const rule = (rule_id: string, actions: (string | JsonObject)[], extra: Partial<EvaluableRule> = {}): EvaluableRule =>
    ({ rule_id, enabled: true, actions, ...extra });
  const all: EvaluableRuleset = {
    override: [rule('o', ['notify', { set_tweak: 'highlight' }], { conditions: [{ kind: 'event_match', key: 'content.body', pattern: 'urgent' }] })],
    content: [rule('c', ['notify', { set_tweak: 'sound', value: 'c' }], { pattern: 'lunch' })],
    room: [rule(ROOM, [])],
    sender: [rule('@bob:example.org', ['notify', { set_tweak: 'sound', value: 's' }])],
    underride: [rule('u', ['notify'])],
  };

  it('checks override, content, room, sender, underride in that order', () => {
    expect(evaluatePushRules(all, text('urgent lunch'), context).ruleId).toBe('o');
    expect(evaluatePushRules(all, text('lunch'), context).ruleId).toBe('c');
    expect(evaluatePushRules(all, text('hello'), context)).toMatchObject({ notify: false, ruleId: ROOM });
    expect(evaluatePushRules(all, { ...text('hello'), room_id: '!other:example.org' }, context)).toMatchObject({ sound: 's', ruleId: '@bob:example.org' });
    const elsewhere = { ...text('hello'), room_id: '!other:example.org', sender: '@carol:example.org' };
    expect(evaluatePushRules(all, elsewhere, context).ruleId).toBe('u');
  });

  it('reads legacy dont_notify and coalesce as no-ops, and honours a highlight tweak set to false', () => {
    expect(evaluatePushRules(only([], ['dont_notify']), text('x'), context)).toMatchObject({ notify: false, ruleId: 'only' });
    expect(evaluatePushRules(only([], ['notify', 'coalesce']), text('x'), context)).toMatchObject({ notify: true });
    expect(evaluatePushRules(only([], ['notify', { set_tweak: 'highlight', value: false }]), text('x'), context))
      .toMatchObject({ notify: true, highlight: false, tweaks: { highlight: false } });
    // Tweaks pass through to push gateways as they are.
    expect(evaluatePushRules(only([], ['notify', { set_tweak: 'led', value: 'blue' }]), text('x'), context).tweaks).toEqual({ led: 'blue' });
    // A highlight without notify is no notification at all.
    expect(evaluatePushRules(only([], [{ set_tweak: 'highlight' }]), text('x'), context)).toMatchObject({ notify: false, highlight: false });
  });

  it('matches a rule with no conditions always, and one with an unknown condition kind never', () => {
    expect(matches([], text('x'))).toBe(true);
    expect(matches([{ kind: 'org.example.future' }], text('x'))).toBe(false);
    expect(matches([{ kind: 'event_match', key: 'type', pattern: 'm.room.message' }, { kind: 'org.example.future' }], text('x'))).toBe(false);
  });
});

describe('conditions', () => {
  it('contains_display_name (legacy): the display name as whole words in the body', () => {
    const legacy = [{ kind: 'contains_display_name' }];
    expect(matches(legacy, text('ALICE: lunch?'))).toBe(true);
    expect(matches(legacy, text('with malice'))).toBe(false);
    expect(matches(legacy, text('Alice'), { ...context, displayName: undefined })).toBe(false);
    expect(matches(legacy, text('anything'), { ...context, displayName: '' })).toBe(false);
    expect(matches(legacy, { type: 'm.room.message', content: { body: ['Alice'] }, sender: '@bob:x' })).toBe(false);
  });

  it('room_member_count compares with ==, <, >, <=, >= and rejects anything else', () => {
    const count = (is: string, members: number) => matches([{ kind: 'room_member_count', is }], text('x'), { ...context, roomMemberCount: members });
    expect([count('2', 2), count('==2', 2), count('2', 3)]).toEqual([true, true, false]);
    expect([count('<10', 9), count('<10', 10), count('<=10', 10), count('>10', 11), count('>10', 10), count('>=10', 10)])
      .toEqual([true, false, true, true, false, true]);
    expect([count('', 0), count('=2', 2), count(' 2', 2), count('2.0', 2), count('-1', 2)]).toEqual([false, false, false, false, false]);
    expect(matches([{ kind: 'room_member_count', is: 2 }], text('x'), { ...context, roomMemberCount: 2 })).toBe(false);
  });

  it('event_match never matches an absent or non-string property, even with *', () => {
    expect(matches([{ kind: 'event_match', key: 'content.body', pattern: '*' }], text('hi'))).toBe(true);
    expect(matches([{ kind: 'event_match', key: 'content.missing', pattern: '*' }], text('hi'))).toBe(false);
    expect(matches([{ kind: 'event_match', key: 'content', pattern: '*' }], text('hi'))).toBe(false);
    expect(matches([{ kind: 'event_match', key: 'content.n', pattern: '*' }], text('hi', { n: 1 }))).toBe(false);
    expect(matches([{ kind: 'event_match', key: 'content.body' }], text('hi'))).toBe(false);
  });

  it('event_match and event_property_is read escaped dots in keys', () => {
    const event = text('x', { 'm.foo': 'dotted', m: { foo: 'nested' } });
    expect(matches([{ kind: 'event_match', key: 'content.m\\.foo', pattern: 'dotted' }], event)).toBe(true);
    expect(matches([{ kind: 'event_match', key: 'content.m.foo', pattern: 'nested' }], event)).toBe(true);
    expect(matches([{ kind: 'event_property_is', key: 'content.m\\.foo', value: 'nested' }], event)).toBe(false);
  });

  it('event_property_is compares scalars exactly, without casting', () => {
    const is = (value: JsonObject['x'], actual: JsonObject['x']) =>
      matches([{ kind: 'event_property_is', key: 'content.m\\.federate', value }], text('x', { 'm.federate': actual }));
    expect([is(true, true), is(true, 'true'), is(true, 1), is(1, 1), is(null, null), is('a', 'A')]).toEqual([true, false, false, true, true, false]);
    // Only non-compound canonical JSON: no objects, arrays or floats on either side.
    expect([is([1], [1]), is({}, {}), is(1.5, 1.5), is(2 ** 53, 2 ** 53)]).toEqual([false, false, false, false]);
    expect(matches([{ kind: 'event_property_is', key: 'content.absent', value: null }], text('x'))).toBe(false);
  });

  it('event_property_contains needs an array holding the exact scalar', () => {
    const contains = (value: JsonObject['x'], actual: JsonObject['x']) =>
      matches([{ kind: 'event_property_contains', key: 'content.alt_aliases', value }], text('x', { alt_aliases: actual }));
    expect(contains('#myroom:example.com', ['#somewhere:example.org', '#myroom:example.com'])).toBe(true);
    expect(contains(':example.com', ['#myroom:example.com'])).toBe(false); // partial values do not match
    expect(contains('#myroom:example.com', '#myroom:example.com')).toBe(false); // not an array
    expect(contains(1, [[1], { a: 1 }, 1])).toBe(true);
    expect(contains([1], [[1]])).toBe(false);
  });

  it('sender_notification_permission needs a string key', () => {
    expect(matches([{ kind: 'sender_notification_permission', key: 'room' }], text('x'), { ...context, senderPowerLevel: 50 })).toBe(true);
    expect(matches([{ kind: 'sender_notification_permission' }], text('x'), { ...context, senderPowerLevel: 100 })).toBe(false);
    expect(matches([{ kind: 'sender_notification_permission', key: 'other' }], text('x'), { ...context, notificationPowerLevels: { other: 10 }, senderPowerLevel: 10 })).toBe(true);
  });
});
