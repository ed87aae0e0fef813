/**
 * Push rules (pushrules.yaml): the ruleset, the rules of one kind (`/pushrules/global/{kind}/`, which
 * Synapse serves beyond the spec), one rule, and its `enabled` flag and `actions`. A path naming
 * no rule or an unknown kind names no endpoint: M_UNRECOGNIZED, as Synapse answers (with 404, the
 * spec's status for it, where the operation documents no 400).
 */
import { MatrixError } from '../../../domain/index.ts';
import type { UserData } from '../../../domain/app/userData/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { clientPaths, requesterOf } from '../accounts/index.ts';
import { MAX_BODY_BYTES } from './limits.ts';

const queryString = (value: string | string[] | undefined): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

export const addPushRuleRoutes = (router: StrataRouter, userData: UserData, auth: StrataMiddleware): void => {
  for (const path of clientPaths('/pushrules/')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = { global: await userData.getPushRules(requesterOf(ctx)) };
    });
  }
  for (const path of clientPaths('/pushrules/global/')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = await userData.getPushRules(requesterOf(ctx));
    });
  }
  for (const path of clientPaths('/pushrules/global/:kind/')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = await userData.getPushRulesOfKind(requesterOf(ctx), ctx.params.kind!);
    });
    // pushrules.yaml documents 400 for setPushRule, 404 for deletePushRule.
    router.put(path, auth, () => {
      throw new MatrixError('M_UNRECOGNIZED', 400, 'A push rule id is needed');
    });
    router.delete(path, auth, () => {
      throw new MatrixError('M_UNRECOGNIZED', 404, 'A push rule id is needed');
    });
  }
  for (const path of clientPaths('/pushrules/global/:kind/:ruleId')) {
    router.get(path, auth, async (ctx) => {
      const { kind, ruleId } = ctx.params;
      ctx.body = await userData.getPushRule(requesterOf(ctx), kind!, ruleId!);
    });
    router.put(path, auth, async (ctx) => {
      const { kind, ruleId } = ctx.params;
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      const before = queryString(ctx.query.before);
      const after = queryString(ctx.query.after);
      await userData.setPushRule(requesterOf(ctx), kind!, ruleId!, body, {
        ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }),
      });
      ctx.body = {};
    });
    router.delete(path, auth, async (ctx) => {
      const { kind, ruleId } = ctx.params;
      await userData.deletePushRule(requesterOf(ctx), kind!, ruleId!);
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/pushrules/global/:kind/:ruleId/enabled')) {
    router.get(path, auth, async (ctx) => {
      const { kind, ruleId } = ctx.params;
      ctx.body = { enabled: (await userData.getPushRule(requesterOf(ctx), kind!, ruleId!)).enabled };
    });
    router.put(path, auth, async (ctx) => {
      const { kind, ruleId } = ctx.params;
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      await userData.setPushRuleEnabled(requesterOf(ctx), kind!, ruleId!, body);
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/pushrules/global/:kind/:ruleId/actions')) {
    router.get(path, auth, async (ctx) => {
      const { kind, ruleId } = ctx.params;
      ctx.body = { actions: (await userData.getPushRule(requesterOf(ctx), kind!, ruleId!)).actions };
    });
    router.put(path, auth, async (ctx) => {
      const { kind, ruleId } = ctx.params;
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      await userData.setPushRuleActions(requesterOf(ctx), kind!, ruleId!, body);
      ctx.body = {};
    });
  }
};
