/**
 * Pure operations on a user's push rules. What is stored (account data `m.push_rules`, as Synapse
 * does, so /sync delivers it) is the full ruleset `{ global: … }`; reading rebases it on the current
 * server defaults, keeping the user's rules and the user's `enabled`/`actions` of default rules.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../json.ts';
import { fitsBytes, LIMITS } from '../../limits.ts';
import { badJson, invalidParam, notFound, requireAtMost } from './errors.ts';
import { defaultRules, PUSH_RULE_KINDS, type PushRule, type PushRuleKind, type PushRuleset } from './pushRuleDefaults.ts';
import { MatrixError } from '../../errors.ts';

const asRule = (value: JsonValue): PushRule | undefined =>
  isJsonObject(value) && typeof value.rule_id === 'string' ? (value as unknown as PushRule) : undefined;

const storedRules = (stored: JsonObject | undefined, kind: PushRuleKind): PushRule[] => {
  const global = stored !== undefined && isJsonObject(stored.global) ? stored.global : {};
  const list = global[kind];
  return Array.isArray(list) ? list.map(asRule).filter((rule): rule is PushRule => rule !== undefined) : [];
};

/** The effective ruleset: master, then the user's rules, then the other defaults, per kind. */
export const effectiveRuleset = (userId: string, stored: JsonObject | undefined): PushRuleset => {
  const defaults = defaultRules(userId);
  const result = {} as Record<PushRuleKind, PushRule[]>;
  for (const kind of PUSH_RULE_KINDS) {
    const saved = storedRules(stored, kind);
    const savedDefaults = new Map(saved.filter((rule) => rule.rule_id.startsWith('.')).map((rule) => [rule.rule_id, rule]));
    const merged = defaults[kind].map((rule): PushRule => {
      const own = savedDefaults.get(rule.rule_id);
      return own === undefined ? rule : { ...rule, enabled: own.enabled !== false, actions: own.actions ?? rule.actions };
    });
    const userRules = saved.filter((rule) => !rule.rule_id.startsWith('.')).map((rule) => ({ ...rule, default: false }));
    const master = merged.filter((rule) => rule.rule_id === '.m.rule.master');
    result[kind] = [...master, ...userRules, ...merged.filter((rule) => rule.rule_id !== '.m.rule.master')];
  }
  return result;
};

/** The `m.push_rules` account data content for a ruleset. */
export const pushRulesContent = (ruleset: PushRuleset): JsonObject => ({ global: ruleset as unknown as JsonObject });

/**
 * The rule kind of a path (pushrules.yaml: override, underride, sender, room, content). Another kind
 * names no endpoint: 404 M_UNRECOGNIZED (client-server-api § Common error codes) unless the
 * operation answers otherwise (`unknown`).
 */
export const parseKind = (kind: string, unknown: () => MatrixError = unrecognizedKind(kind)): PushRuleKind => {
  if (!(PUSH_RULE_KINDS as readonly string[]).includes(kind)) throw unknown();
  return kind as PushRuleKind;
};

export const unrecognizedKind = (kind: string) => (): MatrixError =>
  new MatrixError('M_UNRECOGNIZED', 404, `Unknown push rule kind ${JSON.stringify(kind)}`);

export const findRule = (ruleset: PushRuleset, kind: PushRuleKind, ruleId: string): PushRule => {
  const rule = ruleset[kind].find((candidate) => candidate.rule_id === ruleId);
  if (rule === undefined) throw notFound('The push rule was not found');
  return rule;
};

const replaceRule = (ruleset: PushRuleset, kind: PushRuleKind, ruleId: string, change: (rule: PushRule) => PushRule): PushRuleset => {
  findRule(ruleset, kind, ruleId);
  return { ...ruleset, [kind]: ruleset[kind].map((rule) => (rule.rule_id === ruleId ? change(rule) : rule)) };
};

export const setEnabled = (ruleset: PushRuleset, kind: PushRuleKind, ruleId: string, enabled: boolean): PushRuleset =>
  replaceRule(ruleset, kind, ruleId, (rule) => ({ ...rule, enabled }));

export const parseActions = (value: JsonValue | undefined): (string | JsonObject)[] => {
  if (value === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'actions'");
  if (!Array.isArray(value)) throw badJson("'actions' must be an array");
  for (const action of value) {
    const ok = typeof action === 'string'
      ? ['notify', 'dont_notify', 'coalesce'].includes(action)
      : isJsonObject(action) && typeof action.set_tweak === 'string';
    if (!ok) throw badJson(`Unrecognised push rule action ${JSON.stringify(action)}`);
  }
  return value as (string | JsonObject)[];
};

export const setActions = (ruleset: PushRuleset, kind: PushRuleKind, ruleId: string, actions: (string | JsonObject)[]): PushRuleset =>
  replaceRule(ruleset, kind, ruleId, (rule) => ({ ...rule, actions }));

export const deleteRule = (ruleset: PushRuleset, kind: PushRuleKind, ruleId: string): PushRuleset => {
  const rule = findRule(ruleset, kind, ruleId);
  // A server-default rule is no rule of the user's to delete: 404, as Synapse answers (deletePushRule
  // documents no 400); it can be disabled instead.
  if (rule.default) throw notFound('Server-default push rules cannot be deleted');
  return { ...ruleset, [kind]: ruleset[kind].filter((candidate) => candidate.rule_id !== ruleId) };
};

export interface RulePlacement {
  readonly before?: string;
  readonly after?: string;
}

const checkPattern = (pattern: string): void => {
  if (!fitsBytes(pattern, LIMITS.pushRulePatternBytes)) throw invalidParam(`A push rule pattern may be at most ${LIMITS.pushRulePatternBytes} bytes`);
};

/** Builds a user rule from a PUT body, with the shape its kind requires. */
export const ruleFromBody = (kind: PushRuleKind, ruleId: string, body: JsonObject): PushRule => {
  if (ruleId.startsWith('.')) throw invalidParam('Rule ids starting with "." are reserved for server-default rules');
  if (ruleId === '' || /[/\\]/.test(ruleId)) throw invalidParam('Rule ids may not be empty or contain slashes or backslashes');
  const actions = parseActions(body.actions);
  const base = { rule_id: ruleId, default: false, enabled: true, actions };
  if (kind === 'content') {
    if (typeof body.pattern !== 'string') throw new MatrixError('M_MISSING_PARAM', 400, "Content rules need a string 'pattern'");
    checkPattern(body.pattern);
    return { ...base, pattern: body.pattern };
  }
  if (kind === 'override' || kind === 'underride') {
    const conditions = body.conditions ?? [];
    if (!Array.isArray(conditions) || !conditions.every((c) => isJsonObject(c) && typeof c.kind === 'string')) {
      throw badJson("'conditions' must be an array of objects with a 'kind'");
    }
    requireAtMost(conditions.length, LIMITS.pushRuleConditions, 'conditions in a push rule');
    for (const condition of conditions as JsonObject[]) if (typeof condition.pattern === 'string') checkPattern(condition.pattern);
    return { ...base, conditions: conditions as JsonObject[] };
  }
  // Room and sender rules: the rule id is the room or user the rule applies to.
  return base;
};

/**
 * Adds or updates a user rule. An existing rule keeps its place unless `before`/`after` is given;
 * a new one goes first among the user's rules of its kind. `before` wins over `after`.
 */
export const putRule = (ruleset: PushRuleset, kind: PushRuleKind, rule: PushRule, placement: RulePlacement): PushRuleset => {
  const rules = ruleset[kind];
  const existing = rules.findIndex((candidate) => candidate.rule_id === rule.rule_id);
  const anchorId = placement.before ?? placement.after;
  if (anchorId === undefined && existing >= 0) {
    return { ...ruleset, [kind]: rules.map((candidate, i) => (i === existing ? rule : candidate)) };
  }
  const others = rules.filter((candidate) => candidate.rule_id !== rule.rule_id);
  if (existing < 0) {
    const own = PUSH_RULE_KINDS.reduce((sum, each) => sum + ruleset[each].filter((candidate) => !candidate.default).length, 0);
    if (own >= LIMITS.pushRulesPerUser) {
      throw new MatrixError('M_TOO_LARGE', 413, `A user may have at most ${LIMITS.pushRulesPerUser} push rules`);
    }
  }
  let index: number;
  if (anchorId !== undefined) {
    const anchor = others.findIndex((candidate) => candidate.rule_id === anchorId);
    if (anchor < 0 || others[anchor]!.default) {
      throw new MatrixError('M_UNKNOWN', 400, `before/after rule not found: ${anchorId}`);
    }
    index = placement.before !== undefined ? anchor : anchor + 1;
  } else {
    // First user rule: after `.m.rule.master` when it leads the list.
    index = others.findIndex((candidate) => candidate.rule_id !== '.m.rule.master');
    if (index < 0) index = others.length;
  }
  return { ...ruleset, [kind]: [...others.slice(0, index), rule, ...others.slice(index)] };
};
