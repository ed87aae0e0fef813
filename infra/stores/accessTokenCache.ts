/**
 * A small in-process cache of access-token lookups, in front of an AccountStore. Every
 * authenticated request resolves its token; at hundreds of requests per second that primary-key
 * SELECT was one of the most frequent statements, and its cost is the round trip, not the index.
 *
 * Trade-off: tokens deleted through this store (logout, device deletion, re-login on a device), and
 * the tokens of an account locked or suspended through it, are forgotten at once, but a token
 * deleted (or an account locked) by another process sharing the database stays valid here for at
 * most `ttlMs` (a few seconds). Only found tokens are kept: a token issued by another
 * process is never answered "unknown" from the cache.
 */
import { BoundedMap } from '../../domain/index.ts';
import type { AccessTokenOwner, AccountStore } from '../../domain/app/accounts/index.ts';

export interface AccessTokenCacheOptions {
  readonly now: () => number;
  /** How long another process's deletion can go unseen here. */
  readonly ttlMs?: number;
  readonly maxEntries?: number;
}

interface Entry {
  readonly owner: AccessTokenOwner;
  readonly expires: number;
}

export const withAccessTokenCache = (store: AccountStore, options: AccessTokenCacheOptions): AccountStore => {
  const ttlMs = options.ttlMs ?? 3_000;
  const maxEntries = options.maxEntries ?? 10_000;
  const entries = new BoundedMap<string, Entry>(maxEntries);
  /** Bumped by every invalidation: a lookup that overlapped one is not cached, as it may predate it. */
  let invalidations = 0;

  const forget = (matches: (owner: AccessTokenOwner) => boolean): void => {
    invalidations += 1;
    for (const [hash, entry] of entries) if (matches(entry.owner)) entries.delete(hash);
  };
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
    async findAccessToken(tokenHash) {
      const cached = entries.get(tokenHash);
      if (cached !== undefined && cached.expires > options.now()) return cached.owner;
      entries.delete(tokenHash);
      const seen = invalidations;
      const owner = await store.findAccessToken(tokenHash);
      if (owner !== undefined && seen === invalidations) {
        entries.set(tokenHash, { owner, expires: options.now() + ttlMs });
      }
      return owner;
    },
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
