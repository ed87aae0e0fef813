/**
 * The push rule evaluator (client-server-api/modules/push.md § Push Rules): rule kinds are checked
 * override → content → room → sender → underride, each kind's rules in order, and the first
 * enabled rule that matches decides the actions. Used for unread/highlight counts and by pushers.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.ts';
import { conditionHolds, contentPatternMatches, type PushContext } from './conditions.ts';

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

const SILENT: PushEvaluation = { notify: false, highlight: false, tweaks: {}, actions: [] };

/** The rule's actions read per the spec; `dont_notify`/`coalesce` (historical) and unknown ones are ignored. */
const applyActions = (actions: unknown, ruleId: string): PushEvaluation => {
  const list: readonly unknown[] = Array.isArray(actions) ? actions : [];
  if (!list.includes('notify')) return { ...SILENT, ruleId };
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
  return { notify: true, highlight, tweaks, ruleId, actions: kept, ...(sound === undefined ? {} : { sound }) };
};

const ruleMatches = (kind: EvaluatedRuleKind, rule: EvaluableRule, event: JsonObject, context: PushContext): boolean => {
  switch (kind) {
    case 'content': return contentPatternMatches(rule.pattern, event);
    // Room and sender rules: the rule id is the room or the user the rule applies to.
    case 'room': return rule.rule_id === event.room_id;
    case 'sender': return rule.rule_id === event.sender;
    default: {
      const conditions: unknown = rule.conditions ?? [];
      return Array.isArray(conditions) && conditions.every((condition: JsonValue) => conditionHolds(condition, event, context));
    }
  }
};

/**
 * Evaluates a user's push rules against a client-format event. Pure and total: any event JSON and
 * any ruleset give an answer. Spec: homeservers MUST NOT notify users of events they sent themselves.
 */
export const evaluatePushRules = (ruleset: EvaluableRuleset, event: JsonObject, context: PushContext): PushEvaluation => {
  if (!isJsonObject(event) || !isJsonObject(ruleset as unknown) || event.sender === context.userId) return SILENT;
  for (const kind of PUSH_RULE_ORDER) {
    const rules: unknown = Object.hasOwn(ruleset, kind) ? ruleset[kind] : undefined;
    if (!Array.isArray(rules)) continue;
    for (const rule of rules as unknown[]) {
      if (!isJsonObject(rule) || typeof rule.rule_id !== 'string' || rule.enabled === false) continue;
      const evaluable = rule as unknown as EvaluableRule;
      if (ruleMatches(kind, evaluable, event, context)) return applyActions(evaluable.actions, evaluable.rule_id);
    }
  }
  return SILENT;
};
