/**
 * The deprecated `GET /initialSync` (old_sync.yaml, deprecated since r0 for /sync without `since`):
 * parses `limit` and `archived`; the answer is the legacy sync use-case's (sync/initialSync.ts).
 */
import type { InitialSyncRequest } from '../../../domain/app/rooms/index.ts';
import type { LegacySync } from '../../../domain/app/sync/index.ts';
import type { StrataContext, StrataMiddleware, StrataRouter } from '../../http/index.ts';
import { clientPaths, requesterOf } from '../accounts/index.ts';

const lastQuery = (ctx: StrataContext, name: string): string | undefined => {
  const value = ctx.query[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
};

export const addInitialSyncRoute = (router: StrataRouter, legacySync: LegacySync, auth: StrataMiddleware): void => {
  for (const path of clientPaths('/initialSync')) {
    router.get(path, auth, async (ctx) => {
      const requester = requesterOf(ctx);
      const limit = lastQuery(ctx, 'limit');
      const archived = lastQuery(ctx, 'archived');
      const request: InitialSyncRequest = { ...(limit === undefined ? {} : { limit }), ...(archived === undefined ? {} : { archived }) };
      ctx.body = await legacySync.initialSync({ userId: requester.userId, deviceId: requester.deviceId }, request);
    });
  }
};
