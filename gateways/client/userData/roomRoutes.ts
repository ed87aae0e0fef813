/** Per-room ephemeral data: typing, receipts and read markers. */
import type { UserData } from '../../../domain/app/userData/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { clientPaths, requesterOf } from '../accounts/index.ts';
import { MAX_BODY_BYTES } from './limits.ts';

export const addRoomRoutes = (router: StrataRouter, userData: UserData, auth: StrataMiddleware): void => {
  for (const path of clientPaths('/rooms/:roomId/typing/:userId')) {
    router.put(path, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      await userData.setTyping(requesterOf(ctx), ctx.params.roomId!, ctx.params.userId!, body);
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/rooms/:roomId/receipt/:receiptType/:eventId')) {
    router.post(path, auth, async (ctx) => {
      // Older clients send no body at all.
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES, allowEmpty: true });
      await userData.sendReceipt(requesterOf(ctx), ctx.params.roomId!, ctx.params.receiptType!, ctx.params.eventId!, body);
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/rooms/:roomId/read_markers')) {
    router.post(path, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BODY_BYTES });
      await userData.setReadMarkers(requesterOf(ctx), ctx.params.roomId!, body);
      ctx.body = {};
    });
  }
};
