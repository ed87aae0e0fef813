/**
 * Strata's analyst API (not part of the Matrix spec, hence the `_strata` prefix; docs/analytics.md):
 * counts, time series, top-N, active users, room and user detail, streamed exports and read-only
 * SQL over the metadata warehouse, for server admins and configured analysts. Metadata only; see
 * projections/analytics.
 */
import { Readable } from 'node:stream';
import { Router } from '@koa/router';
import type { Accounts } from '../../domain/app/accounts/index.ts';
import type { Analytics, QueryParams } from '../../domain/app/analytics/index.ts';
import { requesterOf, requireAccessToken } from '../client/accounts/index.ts';
import { readJsonBody, type RequestState, type StrataRouter } from '../http/index.ts';

export const ANALYTICS_PREFIX = '/_strata/analytics/v1';

/** A SQL body holds a query of at most MAX_SQL_LENGTH characters; this bounds its JSON. */
const MAX_SQL_BODY_BYTES = 256 * 1024;

export interface AnalyticsRouterOptions {
  readonly analytics: Analytics;
  readonly accounts: Pick<Accounts, 'authenticate'>;
}

export const createAnalyticsRouter = (options: AnalyticsRouterOptions): StrataRouter => {
  const router = new Router<RequestState>({ prefix: ANALYTICS_PREFIX });
  const auth = requireAccessToken(options.accounts);
  const { analytics } = options;
  const query = (ctx: { query: unknown }): QueryParams => ctx.query as QueryParams;

  router.get('/whoami', auth, async (ctx) => {
    ctx.body = await analytics.whoami(requesterOf(ctx).userId);
  });

  router.get('/events/counts', auth, async (ctx) => {
    ctx.body = await analytics.eventCounts(requesterOf(ctx).userId, query(ctx));
  });

  router.get('/timeseries', auth, async (ctx) => {
    ctx.body = await analytics.timeseries(requesterOf(ctx).userId, query(ctx));
  });

  router.get('/top/:dimension', auth, async (ctx) => {
    ctx.body = await analytics.top(requesterOf(ctx).userId, ctx.params.dimension!, query(ctx));
  });

  router.get('/active_users', auth, async (ctx) => {
    ctx.body = await analytics.activeUsers(requesterOf(ctx).userId, query(ctx));
  });

  // @koa/router has already percent-decoded :roomId and :userId.
  router.get('/rooms/:roomId/activity', auth, async (ctx) => {
    ctx.body = await analytics.roomActivity(requesterOf(ctx).userId, ctx.params.roomId!, query(ctx));
  });

  router.get('/rooms/:roomId', auth, async (ctx) => {
    ctx.body = await analytics.room(requesterOf(ctx).userId, ctx.params.roomId!, query(ctx));
  });

  router.get('/users/:userId', auth, async (ctx) => {
    ctx.body = await analytics.user(requesterOf(ctx).userId, ctx.params.userId!, query(ctx));
  });

  // Streamed as ClickHouse reads: headers go once the query has started (early errors are still a
  // JSON error); a failure later cuts the download short.
  router.get('/export', auth, async (ctx) => {
    const exported = await analytics.exportData(requesterOf(ctx).userId, query(ctx));
    ctx.set('Content-Disposition', `attachment; filename="${exported.filename}"`);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = exported.contentType;
    ctx.body = Readable.from(exported.body, { objectMode: false });
  });

  router.post('/sql', auth, async (ctx) => {
    const body = await readJsonBody(ctx, { maxBytes: MAX_SQL_BODY_BYTES });
    ctx.body = await analytics.sql(requesterOf(ctx).userId, body);
  });

  return router;
};
