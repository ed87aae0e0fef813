/**
 * Guest accounts (client-server-api § Guest access): `POST /register?kind=guest` when
 * `allow_guest_access` is on, and the upgrade of a guest to an ordinary account through
 * registration.yaml's `guest_access_token`.
 */
import { MatrixError } from '../../errors.ts';
import type { AccountsContext } from './context.ts';
import { hashAccessToken } from './secrets.ts';
import { issueSession, type IssuedSession } from './sessions.ts';

/** Numeric localparts are the guests' (Synapse's GUEST_USER_ID_PATTERN): nobody may ask for one. */
export const isGuestLocalpart = (localpart: string): boolean => /^\d+$/.test(localpart);

const GUEST_LOCALPART_ATTEMPTS = 10;

/**
 * A new guest: the next numeric localpart (one taken, e.g. by an admin's shared-secret
 * registration, is skipped), that localpart as display name, no password, and a session.
 * As in Synapse, a guest's username, password and device id are ignored and it gets no refresh token.
 */
export const registerGuest = async (ctx: AccountsContext, initialDeviceDisplayName: string | undefined): Promise<IssuedSession> => {
  if (ctx.allowGuestAccess !== true) throw new MatrixError('M_GUEST_ACCESS_FORBIDDEN', 403, 'Guest access is disabled');
  for (let attempt = 0; attempt < GUEST_LOCALPART_ATTEMPTS; attempt++) {
    const localpart = await ctx.store.nextGuestLocalpart();
    const userId = `@${localpart}:${ctx.serverName}`;
    const created = await ctx.store.createUser({
      userId, passwordHash: null, isGuest: true, isAdmin: false, createdTs: ctx.clock.now(), profile: { displayname: localpart },
    });
    if (created) return issueSession(ctx, userId, undefined, initialDeviceDisplayName, false, true);
  }
  throw new MatrixError('M_UNKNOWN', 500, 'Unable to find a suitable guest user ID');
};

const notThatGuest = (): MatrixError =>
  new MatrixError('M_FORBIDDEN', 403, 'Cannot register taken user ID without valid guest credentials for that user.');

/**
 * The guest account `guestAccessToken` belongs to, which the registration upgrades. The spec has
 * the client send the guest's localpart as `username`; another username is refused (Synapse's
 * check_username), none means the guest's own.
 */
export const guestToUpgrade = async (ctx: AccountsContext, guestAccessToken: string, username: string | undefined): Promise<string> => {
  const owner = await ctx.store.findAccessToken(hashAccessToken(guestAccessToken));
  if (owner === undefined || !owner.isGuest) throw notThatGuest();
  if (username !== undefined && `@${username.toLowerCase()}:${ctx.serverName}` !== owner.userId) throw notThatGuest();
  return owner.userId;
};

/** Makes the guest an ordinary account with this password; its guest tokens stop working (as Synapse's). */
export const upgradeGuest = async (ctx: AccountsContext, userId: string, password: string): Promise<void> => {
  if (!(await ctx.store.upgradeGuest(userId, await ctx.hasher.hash(password)))) throw notThatGuest();
};
