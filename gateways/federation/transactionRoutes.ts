/**
 * `PUT /_matrix/federation/v1/send/{txnId}` (server-server-api § Transactions): another server's
 * PDUs and EDUs. Parsing only; domain/app/federation/rooms/transactions.ts takes them in.
 */
import { Router } from '@koa/router';
import type { FederationRooms } from '../../domain/app/federation/index.ts';
import type { RequestState, StrataMiddleware } from '../http/index.ts';
import { originOf, signedContent } from './auth.ts';
import { pathParam } from './params.ts';

export interface FederationTransactionRoutesOptions {
  readonly rooms: Pick<FederationRooms, 'receiveTransaction'>;
  readonly auth: StrataMiddleware;
}

export const createFederationTransactionRouter = (options: FederationTransactionRoutesOptions): Router<RequestState> => {
  const router = new Router<RequestState>();
  router.put('/_matrix/federation/v1/send/:txnId', options.auth, async (ctx) => {
    ctx.body = await options.rooms.receiveTransaction(originOf(ctx), pathParam(ctx, 'txnId'), signedContent(ctx));
  });
  return router;
};
