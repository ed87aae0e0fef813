// Properties over arbitrary input: rules and events are user data, so evaluation must be total.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { defaultRules } from '../app/userData/index.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.ts';
import { evaluatePushRules, propertyAt, PUSH_RULE_ORDER, type EvaluableRuleset, type PushContext } from './index.ts';

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

/**
 * The evaluator as it read rules before they were compiled once per ruleset: everything from the
 * JSON on every call, globs through a fresh automaton per position. Compiling must change nothing.
 */
const reference = (() => {
  type Token = { kind: 'star' } | { kind: 'one' } | { kind: 'literal'; folded: string };
  const STAR: Token = { kind: 'star' };
  const fold = (c: string): string => c.toLowerCase().toUpperCase();
  const isWord = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z0-9_]$/.test(c);
  const tokenize = (pattern: string, glob: boolean): Token[] => {
    const tokens: Token[] = [];
    for (const c of pattern) {
      if (glob && c === '*') { if (tokens.at(-1) !== STAR) tokens.push(STAR); }
      else if (glob && c === '?') tokens.push({ kind: 'one' });
      else tokens.push({ kind: 'literal', folded: fold(c) });
    }
    return tokens;
  };
  const enter = (active: Uint8Array, tokens: Token[], state: number): void => {
    for (let at = state; active[at] === 0; at += 1) {
      active[at] = 1;
      if (tokens[at] !== STAR) return;
    }
  };
  const run = (tokens: Token[], value: string, mode: 'whole' | 'words'): boolean => {
    const chars = Array.from(value);
    const folded = chars.map(fold);
    const boundaryAt = (p: number): boolean => !(isWord(chars[p - 1]) && isWord(chars[p]));
    let active = new Uint8Array(tokens.length + 1);
    enter(active, tokens, 0);
    for (let p = 0; ; p += 1) {
      if (mode === 'words' && p > 0 && boundaryAt(p)) enter(active, tokens, 0);
      if (active[tokens.length] === 1 && (mode === 'whole' ? p === chars.length : boundaryAt(p))) return true;
      if (p === chars.length) return false;
      const next = new Uint8Array(tokens.length + 1);
      tokens.forEach((token, state) => {
        if (active[state] === 0) return;
        if (token.kind === 'star') enter(next, tokens, state);
        else if (token.kind === 'one' || token.folded === folded[p]) enter(next, tokens, state + 1);
      });
      active = next;
    }
  };
  const scalar = (v: JsonValue | undefined): boolean => v === null || typeof v === 'string' || typeof v === 'boolean' || Number.isSafeInteger(v);
  const holds = (c: JsonValue, e: JsonObject, ctx: PushContext): boolean => {
    if (!isJsonObject(c)) return false;
    switch (c.kind) {
      case 'event_match': {
        if (typeof c.key !== 'string' || typeof c.pattern !== 'string') return false;
        const v = propertyAt(e, c.key);
        return typeof v === 'string' && run(tokenize(c.pattern, true), v, c.key === 'content.body' ? 'words' : 'whole');
      }
      case 'event_property_is': {
        if (typeof c.key !== 'string' || !scalar(c.value)) return false;
        const v = propertyAt(e, c.key);
        return scalar(v) && v === c.value;
      }
      case 'event_property_contains': {
        if (typeof c.key !== 'string' || !scalar(c.value)) return false;
        const v = propertyAt(e, c.key);
        return Array.isArray(v) && v.includes(c.value!);
      }
      case 'contains_display_name': {
        const body = propertyAt(e, 'content.body');
        return typeof body === 'string' && typeof ctx.displayName === 'string' && ctx.displayName !== ''
          && run(tokenize(ctx.displayName, false), body, 'words');
      }
      case 'room_member_count': {
        const m = typeof c.is === 'string' ? /^(==|<=|>=|<|>)?([0-9]+)$/.exec(c.is) : null;
        if (m === null) return false;
        const [n, w] = [ctx.roomMemberCount, Number(m[2])];
        return m[1] === '<' ? n < w : m[1] === '>' ? n > w : m[1] === '<=' ? n <= w : m[1] === '>=' ? n >= w : n === w;
      }
      case 'sender_notification_permission':
        return typeof c.key === 'string'
          && ctx.senderPowerLevel >= (Object.hasOwn(ctx.notificationPowerLevels, c.key) ? ctx.notificationPowerLevels[c.key]! : 50);
      default: return false;
    }
  };
  const SILENT = { notify: false, highlight: false, tweaks: {}, actions: [] };
  const actionsOf = (actions: unknown, ruleId: string) => {
    const list: unknown[] = Array.isArray(actions) ? actions : [];
    if (!list.includes('notify')) return { ...SILENT, ruleId };
    const tweaks: JsonObject = {};
    for (const a of list) if (isJsonObject(a) && typeof a.set_tweak === 'string') tweaks[a.set_tweak] = a.value === undefined ? true : a.value;
    const sound = Object.hasOwn(tweaks, 'sound') && typeof tweaks.sound === 'string' ? tweaks.sound : undefined;
    return { notify: true, highlight: Object.hasOwn(tweaks, 'highlight') && tweaks.highlight === true, tweaks, ruleId,
      actions: list.filter((a) => typeof a === 'string' || isJsonObject(a)), ...(sound === undefined ? {} : { sound }) };
  };
  return (ruleset: EvaluableRuleset, e: JsonObject, ctx: PushContext) => {
    if (!isJsonObject(e) || !isJsonObject(ruleset as unknown) || e.sender === ctx.userId) return SILENT;
    for (const kind of PUSH_RULE_ORDER) {
      const rules: unknown = Object.hasOwn(ruleset, kind) ? ruleset[kind] : undefined;
      if (!Array.isArray(rules)) continue;
      for (const r of rules as unknown[]) {
        if (!isJsonObject(r) || typeof r.rule_id !== 'string' || r.enabled === false) continue;
        const conditions: unknown = r.conditions ?? [];
        const matches = kind === 'content' ? typeof r.pattern === 'string' && typeof propertyAt(e, 'content.body') === 'string'
            && run(tokenize(r.pattern, true), propertyAt(e, 'content.body') as string, 'words')
          : kind === 'room' ? r.rule_id === e.room_id
            : kind === 'sender' ? r.rule_id === e.sender
              : Array.isArray(conditions) && conditions.every((c: JsonValue) => holds(c, e, ctx));
        if (matches) return actionsOf(r.actions, r.rule_id);
      }
    }
    return SILENT;
  };
})();

describe('rules compiled once per ruleset', () => {
  it('answer exactly as the rules read afresh on every call', () => {
    fc.assert(fc.property(ruleset, fc.array(fc.tuple(event, context), { minLength: 1, maxLength: 4 }), (rules, calls) => {
      // Several events against one ruleset: later ones use what the first compiled.
      for (const [e, ctx] of calls) expect(evaluatePushRules(rules, e, ctx)).toEqual(reference(rules, e, ctx));
    }), { numRuns: 3_000 });
  });

  it('follow a ruleset whose kind lists are swapped after a first evaluation', () => {
    const rules = { ...defaultRules(ME) } as { -readonly [K in keyof ReturnType<typeof defaultRules>]: ReturnType<typeof defaultRules>[K] };
    const message: JsonObject = { type: 'm.room.message', sender: '@bob:example.org', room_id: '!r:example.org', content: { body: 'hi' } };
    const ctx: PushContext = { userId: ME, roomMemberCount: 3, senderPowerLevel: 0, notificationPowerLevels: {} };
    expect(evaluatePushRules(rules, message, ctx)).toMatchObject({ notify: true, ruleId: '.m.rule.message' });
    rules.room = [{ rule_id: '!r:example.org', default: false, enabled: true, actions: [] }];
    expect(evaluatePushRules(rules, message, ctx)).toEqual({ notify: false, highlight: false, tweaks: {}, actions: [], ruleId: '!r:example.org' });
  });
});

describe('compiled globs over any code points', () => {
  const unit = fc.oneof(fc.constantFrom('*', '?', 'a', 'A', 'ß', 'ẞ', 'ſ', 's', 'Σ', 'ς', ' ', '_', '🎉', '\uD800', '\uDC00'), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }));
  const text = fc.array(unit, { maxLength: 10 }).map((units) => units.join(''));
  const name = fc.array(unit, { minLength: 1, maxLength: 4 }).map((units) => units.join(''));
  it('match as the rules read afresh: event_match whole and at word boundaries, content patterns, display names', () => {
    fc.assert(fc.property(text, text, name, fc.constantFrom('type', 'content.body'), (pattern, value, displayName, key) => {
      const rules: EvaluableRuleset = {
        override: [{ rule_id: 'm', actions: ['notify'], conditions: [{ kind: 'event_match', key, pattern }] },
          { rule_id: 'n', actions: ['notify', { set_tweak: 'highlight' }], conditions: [{ kind: 'contains_display_name' }] }],
        content: [{ rule_id: 'c', actions: ['notify', { set_tweak: 'sound', value: 'x' }], pattern }],
      };
      const e: JsonObject = { type: value, sender: '@bob:example.org', content: { body: value } };
      const ctx: PushContext = { userId: ME, displayName, roomMemberCount: 2, senderPowerLevel: 0, notificationPowerLevels: {} };
      expect(evaluatePushRules(rules, e, ctx)).toEqual(reference(rules, e, ctx));
    }), { numRuns: 5_000 });
  });
});
