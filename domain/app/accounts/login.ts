/**
 * Login, logout and access-token authentication (client-server-api § Login, login.yaml,
 * logout.yaml, whoami.yaml, § Using access tokens).
 */
import { BoundedMap } from '../../boundedMap.ts';
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { AccessTokenOwner, ClientConnection } from '../../ports/accounts.ts';
import type { AccountsContext, Requester } from './context.ts';
import { badCredentials, checkPassword, userIdFromIdentifier } from './identifier.ts';
import { optionalBoolean, optionalString, requireString } from './params.ts';
import { hashAccessToken } from './secrets.ts';
import { deactivatedError } from './deactivate.ts';
import { userLockedError } from './moderation.ts';
import { removeDevices } from './devices.ts';
import { checkDeviceId, issueSession, type IssuedSession } from './sessions.ts';
import { APPSERVICE_LOGIN_TYPE, appserviceLogin, createAppserviceAuthenticator, type IdentityAssertion } from './appservices.ts';

/** `GET /login`: the password, and application services' login (application-service-api.md, since v1.2). */
export const loginFlows = (): { flows: { type: string }[] } => ({ flows: [{ type: 'm.login.password' }, { type: APPSERVICE_LOGIN_TYPE }] });

/**
 * `POST /login` with `type: m.login.password`, or `m.login.application_service` with the
 * request's `accessToken` (an as_token). Any password mismatch (unknown user, other server, wrong
 * password) is the same 403 M_FORBIDDEN, so logins cannot probe for accounts.
 */
export const login = async (ctx: AccountsContext, body: JsonObject, accessToken?: string): Promise<IssuedSession> => {
  const type = requireString(body, 'type');
  if (type === APPSERVICE_LOGIN_TYPE) return appserviceLogin(ctx, body, accessToken);
  if (type !== 'm.login.password') throw new MatrixError('M_UNKNOWN', 400, `Unknown login type ${type}`);
  const userId = await userIdFromIdentifier(ctx, body);
  const password = requireString(body, 'password');
  const deviceId = optionalString(body, 'device_id');
  checkDeviceId(deviceId);
  const displayName = optionalString(body, 'initial_device_display_name');
  // As Synapse: a deactivated account has no password left, and says so whatever was typed.
  if (userId !== undefined && (await ctx.store.getUser(userId))?.deactivated === true) throw deactivatedError();
  if (userId === undefined || !(await checkPassword(ctx, userId, password))) throw badCredentials();
  // Since v1.12: a locked account "cannot obtain a new access token until the account has been unlocked".
  if ((await ctx.store.getUser(userId))?.locked === true) throw userLockedError();
  return issueSession(ctx, userId, deviceId, displayName, optionalBoolean(body, 'refresh_token') ?? false);
};

const unknownToken = (): MatrixError =>
  new MatrixError('M_UNKNOWN_TOKEN', 401, 'Unknown or expired access token', { soft_logout: false });

/**
 * How often one process records a connection of a device — an address, with the User-Agent seen
 * then — and the device's `last_seen_*` ("may be a few minutes out of date"; Synapse's client_ips
 * are per minutes too).
 */
const SEEN_RECORD_INTERVAL_MS = 60_000;
/** Connections whose last recording is remembered; a forgotten one is simply recorded again. */
const REMEMBERED_CONNECTIONS = 100_000;
/** A User-Agent is the client's to choose: what is kept of it is bounded. */
const MAX_USER_AGENT_LENGTH = 512;

export interface Authenticator {
  /**
   * Resolves an access token to its owner, or throws M_UNKNOWN_TOKEN (401, `soft_logout: false`).
   * A locked account's token answers 401 M_USER_LOCKED unless `allowLocked` (logout only).
   */
  authenticate(accessToken: string, connection?: ClientConnection, options?: AuthenticateOptions): Promise<Requester>;
}

export interface AuthenticateOptions {
  /** § Account locking: `POST /logout` and `/logout/all` are the only APIs a locked account may use. */
  readonly allowLocked?: boolean;
  /** What an application service asserts (`user_id`, `device_id` query parameters); ignored for other tokens. */
  readonly assertion?: IdentityAssertion;
}

/** Tokens whose SHA-256 is remembered: past this, the oldest is forgotten (and hashed again when next seen). */
const REMEMBERED_TOKEN_HASHES = 10_000;

/** What authenticating a found owner always yields the same way: built once per owner record. */
interface Resolved {
  readonly requester: Requester;
  /** The `lastRecorded` key of the owner's device. */
  readonly deviceKey: string;
}

export const createAuthenticator = (ctx: AccountsContext): Authenticator => {
  const lastRecorded = new BoundedMap<string, number>(REMEMBERED_CONNECTIONS);
  // Every authenticated request presents its token: the hash (what the store is keyed by) is
  // remembered per token instead of computed each time. Revocation is unaffected: the owner is
  // still looked up (through the store's own cache, which forgets deleted tokens at once).
  const hashes = new BoundedMap<string, string>(REMEMBERED_TOKEN_HASHES);
  const hashOf = (accessToken: string): string => {
    let hash = hashes.get(accessToken);
    if (hash === undefined) {
      hash = hashAccessToken(accessToken);
      hashes.set(accessToken, hash);
    }
    return hash;
  };
  // A caching store answers with the same (immutable) owner object while it keeps the token; the
  // requester built from it is then reused rather than rebuilt per request.
  const resolved = new WeakMap<AccessTokenOwner, Resolved>();
  const resolve = (owner: AccessTokenOwner, accessToken: string): Resolved => {
    let entry = resolved.get(owner);
    if (entry === undefined || entry.requester.accessToken !== accessToken) {
      entry = {
        // Frozen: it is shared by every request presenting the token.
        requester: Object.freeze({ userId: owner.userId, deviceId: owner.deviceId, isGuest: owner.isGuest, accessToken,
          ...(owner.suspended === true ? { suspended: true } : {}),
          ...(owner.isAdmin === true ? { isAdmin: true } : {}),
        }),
        deviceKey: `${owner.userId}\u0000${owner.deviceId}`,
      };
      resolved.set(owner, entry);
    }
    return entry;
  };
  const appservices = createAppserviceAuthenticator(ctx);
  return {
    async authenticate(accessToken, connection = {}, options) {
      // As Synapse, an as_token is looked for first; the bridges' requests are not recorded as a
      // device's connections (Synapse's track_appservice_user_ips is off by default).
      const asAppservice = await appservices.authenticate(accessToken, options?.assertion ?? {});
      if (asAppservice !== undefined) return asAppservice;
      const owner: AccessTokenOwner | undefined = await ctx.store.findAccessToken(hashOf(accessToken));
      if (owner === undefined) throw unknownToken();
      const now = ctx.clock.now();
      // An expired refreshable token: the client refreshes it, keeping its session (soft logout).
      if (owner.expiresTs !== undefined && owner.expiresTs <= now) {
        throw new MatrixError('M_UNKNOWN_TOKEN', 401, 'Access token has expired', { soft_logout: true });
      }
      if (owner.locked === true && options?.allowLocked !== true) throw userLockedError();
      if (owner.replacesRefreshToken === true && owner.refreshTokenHash !== undefined) {
        await ctx.store.retireReplacedRefreshToken(owner.refreshTokenHash);
      }
      const { requester, deviceKey } = resolve(owner, accessToken);
      const userAgent = connection.userAgent?.slice(0, MAX_USER_AGENT_LENGTH);
      // Throttled per device and address, as Synapse's client_ips (per token and address).
      const connectionKey = `${deviceKey}\u0000${connection.ip ?? ''}`;
      if ((lastRecorded.get(connectionKey) ?? -Infinity) + SEEN_RECORD_INTERVAL_MS <= now) {
        lastRecorded.set(connectionKey, now);
        await ctx.store.recordDeviceSeen(owner.userId, owner.deviceId, {
          ...(connection.ip === undefined ? {} : { ip: connection.ip }),
          ...(userAgent === undefined ? {} : { userAgent }),
        }, now);
      }
      return requester;
    },
  };
};

/** `GET /account/whoami`: no `device_id` for a request without a device (an application service's, whoami.yaml). */
export const whoami = (requester: Requester): { user_id: string; device_id?: string; is_guest: boolean } => ({
  user_id: requester.userId,
  ...(requester.deviceId === '' ? {} : { device_id: requester.deviceId }),
  is_guest: requester.isGuest,
});

/** `POST /logout`: invalidates the token and deletes its device (logout.yaml). */
export const logout = (ctx: AccountsContext, requester: Requester): Promise<void> =>
  removeDevices(ctx, requester.userId, { only: [requester.deviceId] });

/** `POST /logout/all`: every token and device of the user, including the requester's. */
export const logoutAll = (ctx: AccountsContext, requester: Requester): Promise<void> =>
  removeDevices(ctx, requester.userId, { allBut: undefined });
