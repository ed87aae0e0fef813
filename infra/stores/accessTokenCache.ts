/**
 * A small in-process cache of access-token lookups, in front of an AccountStore. Every
 * authenticated request resolves its token; at hundreds of requests per second that primary-key
 * SELECT was one of the most frequent statements, and its cost is the round trip, not the index.
 *
 * Trade-off: tokens deleted through this store (logout, device deletion, re-login on a device), and
 * the tokens of an account locked or suspended through it, are forgotten at once, but a token
 * deleted (or an account locked) by another process sharing the database stays valid here for at
 * most `ttlMs` (a few seconds). Only found tokens are kept: a token issued by another
 * process is never answered "unknown" from the cache. A token in use is looked up once at a time
 * and read again in the background before it expires (domain/concurrency/expiringCache.ts), so a
 * busy client's requests do not wait for that SELECT.
 */
import { createExpiringCache } from '../../domain/index.ts';
import type { AccessTokenOwner, AccountStore } from '../../domain/app/accounts/index.ts';

export interface AccessTokenCacheOptions {
  readonly now: () => number;
  /** How long another process's deletion can go unseen here. */
  readonly ttlMs?: number;
  readonly maxEntries?: number;
}

export const withAccessTokenCache = (store: AccountStore, options: AccessTokenCacheOptions): AccountStore => {
  // Only found tokens are kept: one issued by another process is never answered "unknown" from here.
  const owners = createExpiringCache<string, AccessTokenOwner | undefined>({
    now: options.now, ttlMs: options.ttlMs ?? 3_000, maxEntries: options.maxEntries ?? 10_000, keep: (owner) => owner !== undefined,
  });
  const forget = (matches: (owner: AccessTokenOwner) => boolean): void =>
    owners.forget((_hash, owner) => owner !== undefined && matches(owner));
  /** Forgets before and after the deletion, so no lookup during it is kept. */
  const invalidating = async <T>(matches: (owner: AccessTokenOwner) => boolean, deletion: Promise<T>): Promise<T> => {
    forget(matches);
    try {
      return await deletion;
    } finally {
      forget(matches);
    }
  };

  return {
    ...store,
    findAccessToken: (tokenHash) => owners.get(tokenHash, () => store.findAccessToken(tokenHash)),
    deleteDevices: (userId, deviceIds) =>
      invalidating((owner) => owner.userId === userId && deviceIds.includes(owner.deviceId), store.deleteDevices(userId, deviceIds)),
    deleteOtherDevices: (userId, keepDeviceId) =>
      invalidating((owner) => owner.userId === userId && owner.deviceId !== keepDeviceId, store.deleteOtherDevices(userId, keepDeviceId)),
    deleteAccessTokensOfDevice: (userId, deviceId) =>
      invalidating((owner) => owner.userId === userId && owner.deviceId === deviceId, store.deleteAccessTokensOfDevice(userId, deviceId)),
    // Cached owners carry the account's lock and suspension flags: a change must not wait for the TTL.
    setUserLocked: (userId, locked) => invalidating((owner) => owner.userId === userId, store.setUserLocked(userId, locked)),
    setUserSuspended: (userId, suspended) => invalidating((owner) => owner.userId === userId, store.setUserSuspended(userId, suspended)),
    upgradeGuest: (userId, passwordHash) => invalidating((owner) => owner.userId === userId, store.upgradeGuest(userId, passwordHash)),
    // A refresh revokes refreshable access tokens; which ones is the store's business, so all are forgotten.
    refreshSession: (refreshTokenHash, next, now) =>
      invalidating((owner) => owner.refreshTokenHash !== undefined, store.refreshSession(refreshTokenHash, next, now)),
    // The owners cached with `replacesRefreshToken` would otherwise retire it again on every request.
    retireReplacedRefreshToken: (refreshTokenHash) =>
      invalidating((owner) => owner.refreshTokenHash === refreshTokenHash, store.retireReplacedRefreshToken(refreshTokenHash)),
  };
};
