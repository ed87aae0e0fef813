/**
 * Our users' devices and end-to-end keys for other servers (server-server-api.md § Device
 * Management, § End-to-End Encryption): `GET /_matrix/federation/v1/user/devices/{userId}`
 * (user_devices.yaml), `POST /_matrix/federation/v1/user/keys/query` and `…/user/keys/claim`
 * (user_keys.yaml). Signed requests only; the bodies are the ones the signature covered.
 */
import { Router } from '@koa/router';
import type { FederationQueries } from '../../domain/app/federation/index.ts';
import type { RequestState, StrataMiddleware } from '../http/index.ts';
import { signedContent } from './auth.ts';
import { pathParam } from './params.ts';

export interface FederationUserKeysRoutesOptions {
  readonly queries: Pick<FederationQueries, 'userDevices' | 'queryUserKeys' | 'claimUserKeys'>;
  /** federationAuth: every route here needs a signed request. */
  readonly auth: StrataMiddleware;
}

export const createFederationUserKeysRouter = (options: FederationUserKeysRoutesOptions): Router<RequestState> => {
  const router = new Router<RequestState>();
  router.get('/_matrix/federation/v1/user/devices/:userId', options.auth, async (ctx) => {
    ctx.body = await options.queries.userDevices(pathParam(ctx, 'userId'));
  });
  router.post('/_matrix/federation/v1/user/keys/query', options.auth, async (ctx) => {
    ctx.body = await options.queries.queryUserKeys(signedContent(ctx));
  });
  router.post('/_matrix/federation/v1/user/keys/claim', options.auth, async (ctx) => {
    ctx.body = await options.queries.claimUserKeys(signedContent(ctx));
  });
  return router;
};
