/** Pushers: `GET /pushers` and `POST /pushers/set` (pusher.yaml). */
import type { UserData } from '../../../domain/app/userData/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { clientPaths, requesterOf } from '../accounts/index.ts';
import { MAX_BODY_BYTES } from './limits.ts';

export const addPusherRoutes = (router: StrataRouter, userData: UserData, auth: StrataMiddleware): void => {
  for (const path of clientPaths('/pushers')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = await userData.getPushers(requesterOf(ctx));
    });
  }
  for (const path of clientPaths('/pushers/set')) {
    router.post(path, auth, async (ctx) => {
      await userData.setPusher(requesterOf(ctx), await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES }));
      ctx.body = {};
    });
  }
};
