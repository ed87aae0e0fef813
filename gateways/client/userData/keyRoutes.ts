/** End-to-end encryption plumbing: `/keys/*` and `/sendToDevice`. */
import { MatrixError } from '../../../domain/index.ts';
import type { UserData } from '../../../domain/app/userData/index.ts';
import { readJsonBody, type StrataMiddleware, type StrataRouter } from '../../http/index.ts';
import { clientPaths, requesterOf } from '../accounts/index.ts';
import { MAX_BATCH_BODY_BYTES } from './limits.ts';

/** Reads the device-list position out of a sync token (`from`/`to` of /keys/changes). */
export type DeviceListPositionOf = (token: string) => number | undefined;

/** Tokens that are plain decimal positions; /sync supplies its own parser for its tokens. */
export const decimalPosition: DeviceListPositionOf = (token) =>
  /^[0-9]{1,15}$/.test(token) ? Number(token) : undefined;

export const addKeyRoutes = (
  router: StrataRouter, userData: UserData, auth: StrataMiddleware, positionOf: DeviceListPositionOf,
): void => {
  for (const path of clientPaths('/keys/upload')) {
    router.post(path, auth, async (ctx) => {
      ctx.body = await userData.uploadKeys(requesterOf(ctx), await readJsonBody(ctx, { maxBytes: MAX_BATCH_BODY_BYTES }));
    });
  }
  for (const path of clientPaths('/keys/query')) {
    router.post(path, auth, async (ctx) => {
      ctx.body = await userData.queryKeys(requesterOf(ctx), await readJsonBody(ctx, { maxBytes: MAX_BATCH_BODY_BYTES }));
    });
  }
  for (const path of clientPaths('/keys/claim')) {
    router.post(path, auth, async (ctx) => {
      ctx.body = await userData.claimKeys(requesterOf(ctx), await readJsonBody(ctx, { maxBytes: MAX_BATCH_BODY_BYTES }));
    });
  }
  for (const path of clientPaths('/keys/changes')) {
    router.get(path, auth, async (ctx) => {
      const token = (name: string): number => {
        const value = ctx.query[name];
        if (typeof value !== 'string') throw new MatrixError('M_MISSING_PARAM', 400, `Missing '${name}'`);
        const position = positionOf(value);
        if (position === undefined) throw new MatrixError('M_INVALID_PARAM', 400, `Invalid '${name}' token`);
        return position;
      };
      ctx.body = await userData.keyChanges(requesterOf(ctx), token('from'), token('to'));
    });
  }
  for (const path of clientPaths('/sendToDevice/:eventType/:txnId')) {
    router.put(path, auth, async (ctx) => {
      const body = await readJsonBody(ctx, { maxBytes: MAX_BATCH_BODY_BYTES });
      await userData.sendToDevice(requesterOf(ctx), ctx.params.eventType!, ctx.params.txnId!, body);
      ctx.body = {};
    });
  }
};
