/**
 * Account moderation (client-server-api § Account moderation; admin.yaml, since v1.18):
 * `GET`/`PUT /_matrix/client/v1/admin/lock/{userId}` and `/admin/suspend/{userId}`.
 *
 * Order of checks, as admin.yaml requires: authorisation first ("servers MUST ensure that
 * authorisation is checked prior to trying to do account lookups"), then the user id's server
 * (400 M_INVALID_PARAM), then the account (404 M_NOT_FOUND, deactivated included), then the target:
 * another administrator (403), or, for a change, the requester themself (403).
 */
import { createExpiringCache } from '../../concurrency/expiringCache.ts';
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { UserAccount } from '../../ports/accounts.ts';
import type { AccountsContext, Requester } from './context.ts';
import { invalidParam, missingParam } from './params.ts';

/** The two reversible restrictions an administrator can place on an account. */
export type ModerationAction = 'lock' | 'suspend';

const FLAG = { lock: 'locked', suspend: 'suspended' } as const;

export const userLockedError = (): MatrixError =>
  new MatrixError('M_USER_LOCKED', 401, 'This account has been locked', { soft_logout: true });

export const userSuspendedError = (action = 'perform this action'): MatrixError =>
  new MatrixError('M_USER_SUSPENDED', 403, `You cannot ${action} while suspended.`);

/** Whether the account is suspended, read from the store. */
export const isSuspended = async (ctx: Pick<AccountsContext, 'store'>, userId: string): Promise<boolean> =>
  (await ctx.store.getUser(userId))?.suspended === true;

const SUSPENSION_TTL_MS = 3_000;
const SUSPENSION_CACHE_ENTRIES = 10_000;

export interface SuspensionCache {
  isSuspended(userId: string): Promise<boolean>;
  forget(userId: string): void;
}

/**
 * Every room write asks whether its sender is suspended; this keeps the answer a few seconds so a
 * busy sender costs no extra statement per message (expiringCache.ts: one lookup per user at a
 * time, renewed in the background while the user keeps writing). A change made through this
 * process is seen at once (`forget`); one made by another process sharing the database within
 * `SUSPENSION_TTL_MS`.
 */
export const createSuspensionCache = (ctx: Pick<AccountsContext, 'store' | 'clock'>): SuspensionCache => {
  const answers = createExpiringCache<string, boolean>({
    now: () => ctx.clock.now(), ttlMs: SUSPENSION_TTL_MS, maxEntries: SUSPENSION_CACHE_ENTRIES,
  });
  return {
    isSuspended: (userId) => answers.get(userId, () => isSuspended(ctx, userId)),
    forget: (userId) => answers.forget((key) => key === userId),
  };
};

const isAdmin = async (ctx: AccountsContext, userId: string): Promise<boolean> => (await ctx.store.getUser(userId))?.isAdmin === true;

const isLocalUserId = (userId: string, serverName: string): boolean =>
  /^@[^:]+:/.test(userId) && userId.slice(userId.indexOf(':') + 1) === serverName;

/** The target account after the checks every moderation endpoint shares. */
const moderatedAccount = async (ctx: AccountsContext, requester: Requester, userId: string): Promise<UserAccount> => {
  if (!(await isAdmin(ctx, requester.userId))) throw new MatrixError('M_FORBIDDEN', 403, 'Requesting user is not a server administrator.');
  if (!isLocalUserId(userId, ctx.serverName)) throw new MatrixError('M_INVALID_PARAM', 400, 'User does not belong to the local server.');
  const account = await ctx.store.getUser(userId);
  if (account === undefined || account.deactivated === true) throw new MatrixError('M_NOT_FOUND', 404, 'User not found.');
  if (account.isAdmin && userId !== requester.userId) throw new MatrixError('M_FORBIDDEN', 403, 'The target user is a server administrator.');
  return account;
};

/** `GET /admin/{lock,suspend}/{userId}`: `{ locked }` or `{ suspended }`. */
export const moderationStatus = async (
  ctx: AccountsContext,
  requester: Requester,
  action: ModerationAction,
  userId: string,
): Promise<JsonObject> => {
  const account = await moderatedAccount(ctx, requester, userId);
  return { [FLAG[action]]: account[FLAG[action]] === true };
};

/** `PUT /admin/{lock,suspend}/{userId}` with `{ locked: boolean }` or `{ suspended: boolean }`. */
export const setModeration = async (
  ctx: AccountsContext,
  requester: Requester,
  action: ModerationAction,
  userId: string,
  body: JsonObject,
): Promise<JsonObject> => {
  await moderatedAccount(ctx, requester, userId);
  const key = FLAG[action];
  const value = body[key];
  if (value === undefined) throw missingParam(key);
  if (typeof value !== 'boolean') throw invalidParam(key, 'a boolean');
  if (userId === requester.userId) throw new MatrixError('M_FORBIDDEN', 403, `You cannot ${action} your own account.`);
  // Tokens stay: "Servers SHOULD NOT invalidate access tokens on locked accounts" (§ Account locking).
  if (action === 'lock') await ctx.store.setUserLocked(userId, value);
  else await ctx.store.setUserSuspended(userId, value);
  return { [key]: value };
};
