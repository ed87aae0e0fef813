/** Push rule evaluation (public surface): pure, synchronous, for notification counts and pushers. */
export {
  evaluatePushRules, PUSH_RULE_ORDER,
  type EvaluableRule, type EvaluableRuleset, type EvaluatedRuleKind, type PushContext, type PushEvaluation,
} from './evaluate.ts';
export { containsWords, globMatches, type GlobMode } from './glob.ts';
export { parsePropertyPath, propertyAt } from './propertyPath.ts';
