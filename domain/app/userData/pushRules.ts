/**
 * The push rules API (pushrules.yaml): `/pushrules/`, `/pushrules/global/`, one rule, enabled,
 * actions. The scope is always `global` in the spec, so it is part of the paths, not a parameter.
 */
import type { JsonObject } from '../../json.ts';
import { accountDataChanged } from './accountData.ts';
import type { Requester, UserDataContext } from './context.ts';
import { MatrixError } from '../../errors.ts';
import { badJson, notFound } from './errors.ts';
import type { PushRule, PushRuleset } from './pushRuleDefaults.ts';
import {
  deleteRule, effectiveRuleset, findRule, parseActions, parseKind, pushRulesContent, putRule, ruleFromBody, setActions,
  setEnabled, type RulePlacement,
} from './pushRuleset.ts';

const PUSH_RULES_TYPE = 'm.push_rules';

export const getRuleset = async (ctx: UserDataContext, requester: Requester): Promise<PushRuleset> =>
  effectiveRuleset(requester.userId, await ctx.stores.accountData.get(requester.userId, null, PUSH_RULES_TYPE));

const change = async (ctx: UserDataContext, requester: Requester, edit: (ruleset: PushRuleset) => PushRuleset): Promise<void> => {
  await ctx.stores.accountData.update(requester.userId, null, PUSH_RULES_TYPE, (current) =>
    pushRulesContent(edit(effectiveRuleset(requester.userId, current))));
  accountDataChanged(ctx, requester.userId);
};

export const getRule = async (ctx: UserDataContext, requester: Requester, kind: string, ruleId: string): Promise<PushRule> => {
  return findRule(await getRuleset(ctx, requester), parseKind(kind), ruleId);
};

/** `GET /pushrules/global/{kind}/`: the rules of one kind, in priority order (Synapse serves it; the spec lists no such path). */
export const getRulesOfKind = async (ctx: UserDataContext, requester: Requester, kind: string): Promise<readonly PushRule[]> => {
  const parsedKind = parseKind(kind);
  return (await getRuleset(ctx, requester))[parsedKind];
};

export const setRule = async (
  ctx: UserDataContext, requester: Requester, kind: string, ruleId: string, body: JsonObject, placement: RulePlacement,
): Promise<void> => {
  // pushrules.yaml: 400 for "a problem configuring this push rule"; Synapse's "Unknown template" (M_UNKNOWN).
  const parsedKind = parseKind(kind, () => new MatrixError('M_UNKNOWN', 400, `Unknown push rule kind ${JSON.stringify(kind)}`));
  const rule = ruleFromBody(parsedKind, ruleId, body);
  await change(ctx, requester, (ruleset) => putRule(ruleset, parsedKind, rule, placement));
};

export const removeRule = async (ctx: UserDataContext, requester: Requester, kind: string, ruleId: string): Promise<void> => {
  // No rule of an unknown kind exists to delete (Synapse answers 404 M_NOT_FOUND too).
  const parsedKind = parseKind(kind, () => notFound('The push rule was not found'));
  await change(ctx, requester, (ruleset) => deleteRule(ruleset, parsedKind, ruleId));
};

export const setRuleEnabled = async (
  ctx: UserDataContext, requester: Requester, kind: string, ruleId: string, body: JsonObject,
): Promise<void> => {
  const parsedKind = parseKind(kind);
  // A malformed body is M_BAD_JSON, the common error pushrules.yaml leaves room for here (it documents
  // only 404); Synapse answers 400 M_UNKNOWN.
  if (typeof body.enabled !== 'boolean') throw badJson("'enabled' must be a boolean");
  const enabled = body.enabled;
  await change(ctx, requester, (ruleset) => setEnabled(ruleset, parsedKind, ruleId, enabled));
};

export const setRuleActions = async (
  ctx: UserDataContext, requester: Requester, kind: string, ruleId: string, body: JsonObject,
): Promise<void> => {
  const parsedKind = parseKind(kind);
  // As for `enabled`: a missing or malformed list is M_BAD_JSON.
  if (body.actions === undefined) throw badJson("Missing 'actions'");
  const actions = parseActions(body.actions);
  await change(ctx, requester, (ruleset) => setActions(ruleset, parsedKind, ruleId, actions));
};
