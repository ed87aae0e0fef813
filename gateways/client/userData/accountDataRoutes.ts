/** Account data, room tags and filters under `/user/{userId}/…`. */
import type { UserData } from '../../../domain/app/userData/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { clientPaths, requesterOf } from '../accounts/index.ts';
import { MAX_BODY_BYTES } from './limits.ts';

export const addAccountDataRoutes = (router: StrataRouter, userData: UserData, auth: StrataMiddleware): void => {
  for (const path of clientPaths('/user/:userId/account_data/:type')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = await userData.getAccountData(requesterOf(ctx), ctx.params.userId!, null, ctx.params.type!);
    });
    router.put(path, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      await userData.setAccountData(requesterOf(ctx), ctx.params.userId!, null, ctx.params.type!, body);
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/user/:userId/rooms/:roomId/account_data/:type')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = await userData.getAccountData(requesterOf(ctx), ctx.params.userId!, ctx.params.roomId!, ctx.params.type!);
    });
    router.put(path, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      await userData.setAccountData(requesterOf(ctx), ctx.params.userId!, ctx.params.roomId!, ctx.params.type!, body);
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/user/:userId/rooms/:roomId/tags')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = await userData.getTags(requesterOf(ctx), ctx.params.userId!, ctx.params.roomId!);
    });
  }
  for (const path of clientPaths('/user/:userId/rooms/:roomId/tags/:tag')) {
    router.put(path, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      await userData.setTag(requesterOf(ctx), ctx.params.userId!, ctx.params.roomId!, ctx.params.tag!, body);
      ctx.body = {};
    });
    router.delete(path, auth, async (ctx) => {
      await userData.deleteTag(requesterOf(ctx), ctx.params.userId!, ctx.params.roomId!, ctx.params.tag!);
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/user/:userId/filter')) {
    router.post(path, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      ctx.body = { filter_id: await userData.createFilter(requesterOf(ctx), ctx.params.userId!, body) };
    });
  }
  for (const path of clientPaths('/user/:userId/filter/:filterId')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = await userData.getFilter(requesterOf(ctx), ctx.params.userId!, ctx.params.filterId!);
    });
  }
};
