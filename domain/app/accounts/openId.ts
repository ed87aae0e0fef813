/**
 * OpenID tokens (client-server-api § OpenID, openid.yaml): a short-lived token a third party
 * exchanges at the federation `GET /openid/userinfo` for the user id. Only its SHA-256 is stored.
 */
import { MatrixError } from '../../errors.ts';
import type { AccountsContext, Requester } from './context.ts';
import { hashAccessToken, newOpenIdToken } from './secrets.ts';

/** Synapse's default lifetime (`openid_token_lifetime`: one hour). */
const DEFAULT_OPENID_LIFETIME_MS = 3_600_000;

export interface OpenIdCredentials {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly matrix_server_name: string;
  readonly expires_in: number;
}

export const requestOpenIdToken = async (ctx: AccountsContext, requester: Requester, userId: string): Promise<OpenIdCredentials> => {
  if (userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', 403, 'Cannot request tokens for other users.');
  const lifetime = ctx.openIdTokenLifetimeMs ?? DEFAULT_OPENID_LIFETIME_MS;
  const token = newOpenIdToken(ctx.random);
  await ctx.store.addOpenIdToken(hashAccessToken(token), userId, ctx.clock.now() + lifetime);
  return { access_token: token, token_type: 'Bearer', matrix_server_name: ctx.serverName, expires_in: Math.floor(lifetime / 1000) };
};

/** For `GET /_matrix/federation/v1/openid/userinfo`: the token's user, or 401 M_UNKNOWN_TOKEN. */
export const openIdUserInfo = async (ctx: AccountsContext, token: string): Promise<{ sub: string }> => {
  const userId = await ctx.store.findOpenIdToken(hashAccessToken(token), ctx.clock.now());
  if (userId === undefined) throw new MatrixError('M_UNKNOWN_TOKEN', 401, 'Access Token unknown or expired');
  return { sub: userId };
};
