/**
 * End-to-end encryption plumbing: `/keys/upload|query|claim` and `/sendToDevice`; `/keys/changes`
 * reads sync tokens and membership, so the sync router serves it.
 */
import type { UserData } from '../../../domain/app/userData/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { allowGuests, clientPaths, requesterOf } from '../accounts/index.ts';
import { MAX_BATCH_BODY_BYTES } from './limits.ts';

export const addKeyRoutes = (
  router: StrataRouter, userData: UserData, auth: StrataMiddleware,
): void => {
  for (const path of clientPaths('/keys/upload')) {
    router.post(path, allowGuests, auth, async (ctx) => {
      ctx.body = await userData.uploadKeys(requesterOf(ctx), await readJsonBody(ctx, { maxBytes: MAX_BATCH_BODY_BYTES }));
    });
  }
  for (const path of clientPaths('/keys/query')) {
    router.post(path, allowGuests, auth, async (ctx) => {
      ctx.body = await userData.queryKeys(requesterOf(ctx), await readJsonBody(ctx, { maxBytes: MAX_BATCH_BODY_BYTES }));
    });
  }
  for (const path of clientPaths('/keys/claim')) {
    router.post(path, allowGuests, auth, async (ctx) => {
      ctx.body = await userData.claimKeys(requesterOf(ctx), await readJsonBody(ctx, { maxBytes: MAX_BATCH_BODY_BYTES }));
    });
  }
  for (const path of clientPaths('/sendToDevice/:eventType/:txnId')) {
    router.put(path, allowGuests, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BATCH_BODY_BYTES });
      await userData.sendToDevice(requesterOf(ctx), ctx.params.eventType!, ctx.params.txnId!, body);
      ctx.body = {};
    });
  }
};
