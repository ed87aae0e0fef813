/**
 * The push rule evaluator (client-server-api/modules/push.md § Push Rules): rule kinds are checked
 * override → content → room → sender → underride, each kind's rules in order, and the first
 * enabled rule that matches decides the actions. Used for unread/highlight counts and by pushers.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.ts';
import { compileCondition, compileContentPattern, type CompiledCondition, type PushContext } from './conditions.ts';

export type { PushContext } from './conditions.ts';

/** Rule kinds in the order the spec checks them. */
export const PUSH_RULE_ORDER = ['override', 'content', 'room', 'sender', 'underride'] as const;
export type EvaluatedRuleKind = (typeof PUSH_RULE_ORDER)[number];

/**
 * The shape of a rule the evaluator reads; Strata's stored `PushRule` fits it. Rules come from
 * user data, so the evaluator re-checks every field at run time and skips what is malformed.
 */
export interface EvaluableRule {
  readonly rule_id: string;
  /** Disabled rules never match; a rule without the flag counts as enabled. */
  readonly enabled?: boolean;
  readonly actions: readonly (string | JsonObject)[];
  /** `override`/`underride`: all must hold; none means the rule always matches. */
  readonly conditions?: readonly JsonObject[];
  /** `content`: the glob matched against `content.body`. */
  readonly pattern?: string;
}

export type EvaluableRuleset = Readonly<Partial<Record<EvaluatedRuleKind, readonly EvaluableRule[]>>>;

export interface PushEvaluation {
  /** Whether the event counts as a notification (and would be sent to the user's pushers). */
  readonly notify: boolean;
  /** Whether the notification is a highlight (a `highlight` tweak that is not `false`). */
  readonly highlight: boolean;
  /** The `sound` tweak, when the notification sets one. */
  readonly sound?: string;
  /** The rule that matched, notifying or not; absent when none did (or the user sent the event). */
  readonly ruleId?: string;
  /** Every tweak of a notifying rule, as a push gateway receives them (a tweak with no value is `true`). */
  readonly tweaks: Readonly<JsonObject>;
  /** The matching rule's actions as the user set them (notifications.yaml `actions`); empty when silent. */
  readonly actions: readonly (string | JsonObject)[];
}

const SILENT: PushEvaluation = Object.freeze({ notify: false, highlight: false, tweaks: Object.freeze({}), actions: Object.freeze([]) });

/** The rule's actions read per the spec; `dont_notify`/`coalesce` (historical) and unknown ones are ignored. */
const applyActions = (actions: unknown, ruleId: string): PushEvaluation => {
  const list: readonly unknown[] = Array.isArray(actions) ? actions : [];
  if (!list.includes('notify')) return Object.freeze({ ...SILENT, ruleId });
  const tweaks: JsonObject = {};
  for (const action of list) {
    if (isJsonObject(action) && typeof action.set_tweak === 'string') {
      tweaks[action.set_tweak] = action.value === undefined ? true : action.value;
    }
  }
  // Spec: a highlight tweak with no value means true; no highlight tweak at all means false.
  const highlight = Object.hasOwn(tweaks, 'highlight') && tweaks.highlight === true;
  const sound = Object.hasOwn(tweaks, 'sound') && typeof tweaks.sound === 'string' ? tweaks.sound : undefined;
  const kept = list.filter((action): action is string | JsonObject => typeof action === 'string' || isJsonObject(action));
  // Shared by every event the rule matches (compiled once): frozen so no caller can change another's.
  return Object.freeze({ notify: true, highlight, tweaks: Object.freeze(tweaks), ruleId, actions: Object.freeze(kept), ...(sound === undefined ? {} : { sound }) });
};

/** A rule read once: whether it matches, and the answer it gives (its actions applied ahead). */
interface CompiledRule {
  readonly matches: CompiledCondition;
  readonly outcome: PushEvaluation;
}

interface CompiledRuleset {
  /** Each kind's list as compiled, to notice a ruleset whose list was swapped since. */
  readonly lists: readonly unknown[];
  /** The enabled well-formed rules, in evaluation order. */
  readonly rules: readonly CompiledRule[];
}

const NEVER: CompiledCondition = () => false;

const compileRule = (kind: EvaluatedRuleKind, rule: EvaluableRule): CompiledCondition => {
  switch (kind) {
    case 'content': return compileContentPattern(rule.pattern);
    // Room and sender rules: the rule id is the room or the user the rule applies to.
    case 'room': {
      const roomId = rule.rule_id;
      return (event) => roomId === event.room_id;
    }
    case 'sender': {
      const userId = rule.rule_id;
      return (event) => userId === event.sender;
    }
    default: {
      const conditions: unknown = rule.conditions ?? [];
      if (!Array.isArray(conditions)) return NEVER;
      const compiled = (conditions as JsonValue[]).map(compileCondition);
      return (event, context) => {
        for (const condition of compiled) if (!condition(event, context)) return false;
        return true;
      };
    }
  }
};

const listOf = (ruleset: EvaluableRuleset, kind: EvaluatedRuleKind): unknown => (Object.hasOwn(ruleset, kind) ? ruleset[kind] : undefined);

const compileRuleset = (ruleset: EvaluableRuleset): CompiledRuleset => {
  const lists = PUSH_RULE_ORDER.map((kind) => listOf(ruleset, kind));
  const rules: CompiledRule[] = [];
  PUSH_RULE_ORDER.forEach((kind, index) => {
    const list = lists[index];
    if (!Array.isArray(list)) return;
    for (const rule of list as unknown[]) {
      if (!isJsonObject(rule) || typeof rule.rule_id !== 'string' || rule.enabled === false) continue;
      const evaluable = rule as unknown as EvaluableRule;
      rules.push({ matches: compileRule(kind, evaluable), outcome: applyActions(evaluable.actions, evaluable.rule_id) });
    }
  });
  return { lists, rules };
};

/**
 * Compiled rules per ruleset object: a user's rules are read once and evaluated against every event
 * of every /sync, so conditions, globs and actions are read once too. Rulesets are values (edits
 * make new objects, as pushRuleset.ts does); held weakly, a ruleset's compiled form lives as long as
 * the ruleset. A ruleset whose kind lists were swapped in place is compiled again.
 */
const compiledRulesets = new WeakMap<object, CompiledRuleset>();

const compiledRulesetOf = (ruleset: EvaluableRuleset): CompiledRuleset => {
  const known = compiledRulesets.get(ruleset);
  if (known !== undefined && PUSH_RULE_ORDER.every((kind, index) => listOf(ruleset, kind) === known.lists[index])) return known;
  const compiled = compileRuleset(ruleset);
  compiledRulesets.set(ruleset, compiled);
  return compiled;
};

/**
 * Evaluates a user's push rules against a client-format event. Pure and total: any event JSON and
 * any ruleset give an answer. Spec: homeservers MUST NOT notify users of events they sent themselves.
 */
export const evaluatePushRules = (ruleset: EvaluableRuleset, event: JsonObject, context: PushContext): PushEvaluation => {
  if (!isJsonObject(event) || !isJsonObject(ruleset as unknown) || event.sender === context.userId) return SILENT;
  for (const rule of compiledRulesetOf(ruleset).rules) if (rule.matches(event, context)) return rule.outcome;
  return SILENT;
};
