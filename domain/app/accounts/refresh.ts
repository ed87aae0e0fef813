/**
 * `POST /refresh` (refresh.yaml, since v1.3): a refresh token buys a new access token and a new
 * refresh token. "The old refresh token remains valid until the new access token or refresh token
 * is used, at which point the old refresh token is revoked"; the old access token goes at once.
 */
import { MatrixError } from '../../errors.ts';
import type { AccountsContext } from './context.ts';
import { userLockedError } from './moderation.ts';
import { hashAccessToken, newAccessToken, newRefreshToken } from './secrets.ts';
import { refreshableTokenLifetime } from './sessions.ts';

export interface RefreshResult {
  readonly access_token: string;
  readonly refresh_token: string;
  readonly expires_in_ms: number;
}

export const refresh = async (ctx: AccountsContext, refreshToken: string): Promise<RefreshResult> => {
  const now = ctx.clock.now();
  const lifetime = refreshableTokenLifetime(ctx);
  const [accessToken, nextRefreshToken] = [newAccessToken(ctx.random), newRefreshToken(ctx.random)];
  const owner = await ctx.store.refreshSession(hashAccessToken(refreshToken), {
    refreshTokenHash: hashAccessToken(nextRefreshToken),
    accessTokenHash: hashAccessToken(accessToken),
    accessExpiresTs: now + lifetime,
  }, now);
  // Unknown, revoked or superseded: the session is over (Synapse sends no soft_logout here).
  if (owner === undefined) throw new MatrixError('M_UNKNOWN_TOKEN', 401, 'Refresh token does not exist', { soft_logout: false });
  // A locked account gets no new access token (§ Soft logout, since v1.12). The old refresh token
  // stays valid, as the new tokens were never used, so the client can refresh once unlocked.
  if ((await ctx.store.getUser(owner.userId))?.locked === true) throw userLockedError();
  return { access_token: accessToken, refresh_token: nextRefreshToken, expires_in_ms: lifetime };
};
