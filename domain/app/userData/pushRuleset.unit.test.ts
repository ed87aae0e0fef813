import { describe, expect, it } from 'vitest';
import { LIMITS } from '../../limits.ts';
import { deleteRule, effectiveRuleset, pushRulesContent, putRule, ruleFromBody, setActions, setEnabled } from './pushRuleset.ts';

const ids = (rules: readonly { rule_id: string }[]) => rules.map((rule) => rule.rule_id);

describe('push rulesets', () => {
  it('substitutes the user id into the default rules', () => {
    const ruleset = effectiveRuleset('@me:x', undefined);
    expect(JSON.stringify(ruleset)).not.toContain("[the user's Matrix ID]");
    expect(ruleset.override.find((rule) => rule.rule_id === '.m.rule.is_user_mention')?.conditions)
      .toEqual([{ kind: 'event_property_contains', key: 'content.m\\.mentions.user_ids', value: '@me:x' }]);
  });

  it('keeps user rules and changes to defaults across a store round trip, rebased on current defaults', () => {
    let ruleset = effectiveRuleset('@me:x', undefined);
    ruleset = putRule(ruleset, 'underride', ruleFromBody('underride', 'mine', { actions: ['notify'] }), {});
    ruleset = setEnabled(ruleset, 'override', '.m.rule.master', true);
    ruleset = setActions(ruleset, 'underride', '.m.rule.message', ['dont_notify']);
    const stored = JSON.parse(JSON.stringify(pushRulesContent(ruleset)));
    // A default rule the server no longer ships disappears; one it now ships appears.
    stored.global.override = stored.global.override.filter((rule: { rule_id: string }) => rule.rule_id !== '.m.rule.reaction');
    stored.global.override.push({ rule_id: '.m.rule.retired', default: true, enabled: true, actions: [] });
    const reread = effectiveRuleset('@me:x', stored);
    expect(ids(reread.underride)[0]).toBe('mine');
    expect(reread.override[0]).toMatchObject({ rule_id: '.m.rule.master', enabled: true });
    expect(reread.underride.find((rule) => rule.rule_id === '.m.rule.message')?.actions).toEqual(['dont_notify']);
    expect(ids(reread.override)).toContain('.m.rule.reaction');
    expect(ids(reread.override)).not.toContain('.m.rule.retired');
  });

  it('places new rules first among user rules, or before/after another user rule', () => {
    let ruleset = effectiveRuleset('@me:x', undefined);
    const rule = (id: string) => ruleFromBody('override', id, { actions: [] });
    ruleset = putRule(ruleset, 'override', rule('a'), {});
    ruleset = putRule(ruleset, 'override', rule('b'), {});
    ruleset = putRule(ruleset, 'override', rule('c'), { after: 'a' });
    ruleset = putRule(ruleset, 'override', rule('d'), { before: 'b', after: 'a' });
    expect(ids(ruleset.override).slice(0, 5)).toEqual(['.m.rule.master', 'd', 'b', 'a', 'c']);
    // Updating in place keeps the position.
    ruleset = putRule(ruleset, 'override', { ...rule('b'), actions: ['notify'] }, {});
    expect(ids(ruleset.override).slice(0, 5)).toEqual(['.m.rule.master', 'd', 'b', 'a', 'c']);
    ruleset = deleteRule(ruleset, 'override', 'd');
    expect(ids(ruleset.override).slice(0, 4)).toEqual(['.m.rule.master', 'b', 'a', 'c']);
    expect(() => putRule(ruleset, 'override', rule('e'), { before: '.m.rule.message' })).toThrow(/not found/);
  });

  it('shapes rules by kind and refuses reserved or malformed ids', () => {
    expect(ruleFromBody('content', 'c', { pattern: 'p', actions: [] })).toMatchObject({ pattern: 'p' });
    expect(ruleFromBody('sender', '@x:y', { actions: ['notify'], conditions: [] })).not.toHaveProperty('conditions');
    expect(() => ruleFromBody('override', '.x', { actions: [] })).toThrow();
    expect(() => ruleFromBody('override', 'a/b', { actions: [] })).toThrow();
    expect(() => ruleFromBody('override', 'a', { actions: ['explode'] })).toThrow();
  });

  it('bounds the number of a user\'s own rules and of one rule\'s conditions', () => {
    const base = effectiveRuleset('@me:x', undefined);
    // The bound counts the user's rules of every kind together, not the server defaults.
    const full = {
      ...base,
      room: Array.from({ length: LIMITS.pushRulesPerUser / 2 }, (_, i) => ruleFromBody('room', `!r${i}:x`, { actions: [] })),
      sender: Array.from({ length: LIMITS.pushRulesPerUser / 2 }, (_, i) => ruleFromBody('sender', `@s${i}:x`, { actions: [] })),
    };
    expect(() => putRule(full, 'override', ruleFromBody('override', 'one more', { actions: [] }), {}))
      .toThrow(expect.objectContaining({ errcode: 'M_TOO_LARGE', status: 413 }));
    // Changing or moving an existing rule adds none.
    const changed = putRule(full, 'room', ruleFromBody('room', '!r1:x', { actions: ['notify'] }), {});
    expect(changed.room.find((rule) => rule.rule_id === '!r1:x')?.actions).toEqual(['notify']);
    expect(ids(putRule(full, 'room', ruleFromBody('room', '!r1:x', { actions: [] }), { before: '!r0:x' }).room).slice(0, 2)).toEqual(['!r1:x', '!r0:x']);
    // One fewer leaves room for one more.
    const roomy = { ...full, sender: full.sender.slice(1) };
    expect(ids(putRule(roomy, 'override', ruleFromBody('override', 'one more', { actions: [] }), {}).override)).toContain('one more');
    const conditions = (count: number) => Array.from({ length: count }, () => ({ kind: 'event_match', key: 'content.body', pattern: 'x' }));
    expect(ruleFromBody('override', 'c', { conditions: conditions(LIMITS.pushRuleConditions), actions: [] }).conditions).toHaveLength(LIMITS.pushRuleConditions);
    expect(() => ruleFromBody('underride', 'c', { conditions: conditions(LIMITS.pushRuleConditions + 1), actions: [] }))
      .toThrow(expect.objectContaining({ errcode: 'M_TOO_LARGE' }));
  });
});
