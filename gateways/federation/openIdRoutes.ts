/**
 * `GET /_matrix/federation/v1/openid/userinfo?access_token=` (server-server-api.md § OpenID,
 * openid.yaml): exchanges an OpenID token a user got from our client API for their user id.
 * Unlike every other `/_matrix/federation/*` endpoint it is not signed (openid.yaml lists no
 * `security`; Synapse does not require auth there): it is called by whatever service the user
 * handed the token to — an integration manager, a widget host — which need not be a homeserver
 * with signing keys. The token itself is the credential.
 */
import { Router } from '@koa/router';
import type { FederationQueries } from '../../domain/app/federation/index.ts';
import type { RequestState } from '../http/index.ts';
import { requiredQueryParam } from './params.ts';

export interface FederationOpenIdRoutesOptions {
  readonly queries: Pick<FederationQueries, 'openIdUserInfo'>;
}

export const createFederationOpenIdRouter = (options: FederationOpenIdRoutesOptions): Router<RequestState> => {
  const router = new Router<RequestState>();
  router.get('/_matrix/federation/v1/openid/userinfo', async (ctx) => {
    ctx.body = await options.queries.openIdUserInfo(requiredQueryParam(ctx, 'access_token'));
  });
  return router;
};
