/**
 * Login, logout and access-token authentication (client-server-api § Login, login.yaml,
 * logout.yaml, whoami.yaml, § Using access tokens).
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { AccessTokenOwner } from '../../ports/accounts.ts';
import type { AccountsContext, Requester } from './context.ts';
import { badCredentials, checkPassword, userIdFromIdentifier } from './identifier.ts';
import { optionalString, requireString } from './params.ts';
import { hashAccessToken } from './secrets.ts';
import { removeDevices } from './devices.ts';
import { checkDeviceId, issueSession, type IssuedSession } from './sessions.ts';

/** `GET /login`: the only login type offered is the password. */
export const loginFlows = (): { flows: { type: string }[] } => ({ flows: [{ type: 'm.login.password' }] });

/**
 * `POST /login` with `type: m.login.password`. Any credential mismatch (unknown user, other
 * server, wrong password) is the same 403 M_FORBIDDEN, so logins cannot probe for accounts.
 */
export const login = async (ctx: AccountsContext, body: JsonObject): Promise<IssuedSession> => {
  const type = requireString(body, 'type');
  if (type !== 'm.login.password') throw new MatrixError('M_UNKNOWN', 400, `Unknown login type ${type}`);
  const userId = userIdFromIdentifier(body, ctx.serverName);
  const password = requireString(body, 'password');
  const deviceId = optionalString(body, 'device_id');
  checkDeviceId(deviceId);
  const displayName = optionalString(body, 'initial_device_display_name');
  if (userId === undefined || !(await checkPassword(ctx, userId, password))) throw badCredentials();
  return issueSession(ctx, userId, deviceId, displayName);
};

const unknownToken = (): MatrixError =>
  new MatrixError('M_UNKNOWN_TOKEN', 401, 'Unknown or expired access token', { soft_logout: false });

/** How often one process records a device's `last_seen_*` (they "may be a few minutes out of date"). */
const SEEN_RECORD_INTERVAL_MS = 60_000;

export interface Authenticator {
  /** Resolves an access token to its owner, or throws M_UNKNOWN_TOKEN (401, `soft_logout: false`). */
  authenticate(accessToken: string, ip?: string): Promise<Requester>;
}

export const createAuthenticator = (ctx: AccountsContext): Authenticator => {
  const lastRecorded = new Map<string, number>();
  return {
    async authenticate(accessToken, ip) {
      const owner: AccessTokenOwner | undefined = await ctx.store.findAccessToken(hashAccessToken(accessToken));
      if (owner === undefined) throw unknownToken();
      const now = ctx.clock.now();
      const key = `${owner.userId}\u0000${owner.deviceId}`;
      if ((lastRecorded.get(key) ?? -Infinity) + SEEN_RECORD_INTERVAL_MS <= now) {
        lastRecorded.set(key, now);
        await ctx.store.recordDeviceSeen(owner.userId, owner.deviceId, ip, now);
      }
      return { ...owner, accessToken };
    },
  };
};

/** `GET /account/whoami`. */
export const whoami = (requester: Requester): { user_id: string; device_id: string; is_guest: boolean } => ({
  user_id: requester.userId,
  device_id: requester.deviceId,
  is_guest: requester.isGuest,
});

/** `POST /logout`: invalidates the token and deletes its device (logout.yaml). */
export const logout = (ctx: AccountsContext, requester: Requester): Promise<void> =>
  removeDevices(ctx, requester.userId, { only: [requester.deviceId] });

/** `POST /logout/all`: every token and device of the user, including the requester's. */
export const logoutAll = (ctx: AccountsContext, requester: Requester): Promise<void> =>
  removeDevices(ctx, requester.userId, { allBut: undefined });
