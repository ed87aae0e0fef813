/**
 * Strata's analytics API for server admins (not part of the Matrix spec, hence the `_strata`
 * prefix): counts of events grouped by type, sender, room, server, hour or day, and one room's
 * activity per hour or day. Metadata only; see projections/analytics.
 */
import { Router } from '@koa/router';
import type { Accounts } from '../../domain/app/accounts/index.ts';
import type { Analytics, QueryParams } from '../../domain/app/analytics/index.ts';
import { requesterOf, requireAccessToken } from '../client/accounts/index.ts';
import type { RequestState, StrataRouter } from '../http/index.ts';

export const ANALYTICS_PREFIX = '/_strata/analytics/v1';

export interface AnalyticsRouterOptions {
  readonly analytics: Analytics;
  readonly accounts: Pick<Accounts, 'authenticate'>;
}

export const createAnalyticsRouter = (options: AnalyticsRouterOptions): StrataRouter => {
  const router = new Router<RequestState>({ prefix: ANALYTICS_PREFIX });
  const auth = requireAccessToken(options.accounts);

  router.get('/events/counts', auth, async (ctx) => {
    ctx.body = await options.analytics.eventCounts(requesterOf(ctx).userId, ctx.query as QueryParams);
  });

  // @koa/router has already percent-decoded :roomId.
  router.get('/rooms/:roomId/activity', auth, async (ctx) => {
    ctx.body = await options.analytics.roomActivity(requesterOf(ctx).userId, ctx.params.roomId!, ctx.query as QueryParams);
  });

  return router;
};
