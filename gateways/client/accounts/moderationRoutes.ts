/**
 * Account moderation for server administrators (admin.yaml, since v1.18):
 * `GET`/`PUT /_matrix/client/v1/admin/lock/{userId}` and `/_matrix/client/v1/admin/suspend/{userId}`.
 */
import type { Accounts, ModerationAction } from '../../../domain/app/accounts/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { requesterOf } from './auth.ts';
import { MAX_BODY_BYTES } from './paths.ts';

const ACTIONS: readonly ModerationAction[] = ['lock', 'suspend'];

export const addModerationRoutes = (router: StrataRouter, accounts: Accounts, auth: StrataMiddleware): void => {
  for (const action of ACTIONS) {
    const path = `/_matrix/client/v1/admin/${action}/:userId`;
    router.get(path, auth, async (ctx) => {
      ctx.body = await accounts.moderationStatus(requesterOf(ctx), action, ctx.params.userId as string);
    });
    router.put(path, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      ctx.body = await accounts.setModeration(requesterOf(ctx), action, ctx.params.userId as string, body);
    });
  }
};
