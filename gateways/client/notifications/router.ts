/** `GET /_matrix/client/v3/notifications` (notifications.yaml): `from`, `limit`, `only`. */
import { Router } from '@koa/router';
import { MatrixError } from '../../../domain/index.ts';
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import { getNotifications, type NotificationsContext, type NotificationsRequest } from '../../../domain/app/notifications/index.ts';
import type { RequestState, StrataContext, StrataRouter } from '../../http/index.ts';
import { clientPaths, requesterOf, requireAccessToken } from '../accounts/index.ts';

export interface NotificationsRouterOptions {
  readonly notifications: NotificationsContext;
  readonly accounts: Pick<Accounts, 'authenticate'>;
}

const queryString = (ctx: StrataContext, name: string): string | undefined => {
  const value = ctx.query[name];
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  return last === '' ? undefined : last;
};

export const parseNotificationsQuery = (ctx: StrataContext): NotificationsRequest => {
  const from = queryString(ctx, 'from');
  const only = queryString(ctx, 'only');
  const limitText = queryString(ctx, 'limit');
  if (limitText !== undefined && !/^[0-9]{1,9}$/.test(limitText)) {
    throw new MatrixError('M_INVALID_PARAM', 400, "'limit' must be a non-negative integer");
  }
  return {
    ...(from === undefined ? {} : { from }),
    ...(only === undefined ? {} : { only }),
    ...(limitText === undefined ? {} : { limit: Number(limitText) }),
  };
};

export const createNotificationsRouter = (options: NotificationsRouterOptions): StrataRouter => {
  const router = new Router<RequestState>();
  const auth = requireAccessToken(options.accounts);
  for (const path of clientPaths('/notifications')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = await getNotifications(options.notifications, requesterOf(ctx), parseNotificationsQuery(ctx));
    });
  }
  return router;
};
