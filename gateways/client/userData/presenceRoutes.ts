/** Presence and capabilities. */
import type { UserData } from '../../../domain/app/userData/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { allowGuests, clientPaths, requesterOf } from '../accounts/index.ts';
import { MAX_BODY_BYTES } from './limits.ts';

export const addPresenceRoutes = (router: StrataRouter, userData: UserData, auth: StrataMiddleware): void => {
  for (const path of clientPaths('/presence/:userId/status')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = await userData.getPresence(requesterOf(ctx), ctx.params.userId!);
    });
    router.put(path, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      await userData.setPresence(requesterOf(ctx), ctx.params.userId!, body);
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/capabilities')) {
    router.get(path, allowGuests, auth, (ctx) => {
      ctx.body = userData.capabilities(requesterOf(ctx));
    });
  }
};
