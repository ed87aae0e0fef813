/**
 * `GET /_matrix/federation/v1/query/profile` and `GET /_matrix/federation/v1/query/directory`
 * (server-server-api.md § Querying for information, query.yaml): signed requests from other
 * servers about our users' profiles and our aliases. Parsing only; the answers are
 * domain/app/federation's.
 */
import { Router } from '@koa/router';
import type { FederationQueries } from '../../domain/app/federation/index.ts';
import type { RequestState, StrataMiddleware } from '../http/index.ts';
import { queryParam, requiredQueryParam } from './params.ts';

export interface FederationQueryRoutesOptions {
  readonly queries: Pick<FederationQueries, 'queryProfile' | 'queryDirectory'>;
  /** federationAuth: every route here needs a signed request. */
  readonly auth: StrataMiddleware;
}

export const createFederationQueryRouter = (options: FederationQueryRoutesOptions): Router<RequestState> => {
  const router = new Router<RequestState>();
  router.get('/_matrix/federation/v1/query/profile', options.auth, async (ctx) => {
    ctx.body = await options.queries.queryProfile(requiredQueryParam(ctx, 'user_id'), queryParam(ctx, 'field'));
  });
  router.get('/_matrix/federation/v1/query/directory', options.auth, async (ctx) => {
    ctx.body = await options.queries.queryDirectory(requiredQueryParam(ctx, 'room_alias'));
  });
  return router;
};
