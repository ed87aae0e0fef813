/**
 * `GET /_matrix/federation/v1/hierarchy/{roomId}` (space_hierarchy.yaml): a space and its
 * children for another server's space walk. Parsing only; the answer is domain/app/federation's.
 */
import { Router } from '@koa/router';
import type { FederationRoomReads } from '../../domain/app/federation/index.ts';
import type { RequestState, StrataMiddleware } from '../http/index.ts';
import { originOf } from './auth.ts';
import { pathParam, queryParam } from './params.ts';

export interface FederationHierarchyRoutesOptions {
  readonly reads: Pick<FederationRoomReads, 'hierarchy'>;
  /** federationAuth: a signed request. */
  readonly auth: StrataMiddleware;
}

export const createFederationHierarchyRouter = (options: FederationHierarchyRoutesOptions): Router<RequestState> => {
  const router = new Router<RequestState>();
  router.get('/_matrix/federation/v1/hierarchy/:roomId', options.auth, async (ctx) => {
    ctx.body = await options.reads.hierarchy(originOf(ctx), pathParam(ctx, 'roomId'), queryParam(ctx, 'suggested_only'));
  });
  return router;
};
