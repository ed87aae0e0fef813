/**
 * Failed password attempts per user, as Synapse limits them (`rc_login.failed_attempts`: a token
 * every ~6 s, a burst of 3): past the burst, the user's password is not checked again until a token
 * has come back, so user-interactive auth (which deactivation offers even without an access token)
 * cannot guess a password faster than that.
 */
import { BoundedMap } from '../../boundedMap.ts';
import type { Clock } from '../../ports/accounts.ts';

export interface FailedAttempts {
  /** Milliseconds until `userId`'s password may be tried again; 0 when it may now. */
  retryAfterMs(userId: string): number;
  /** A failed attempt for `userId` spends a token. */
  record(userId: string): void;
}

export interface FailedAttemptsSetting {
  readonly perSecond: number;
  readonly burst: number;
}

/** Synapse's default `rc_login.failed_attempts`. */
export const DEFAULT_FAILED_ATTEMPTS: FailedAttemptsSetting = { perSecond: 0.17, burst: 3 };

/** Users whose failures are remembered; one forgotten starts again with a full burst. */
const REMEMBERED_USERS = 100_000;

export const createFailedAttempts = (clock: Clock, setting: FailedAttemptsSetting = DEFAULT_FAILED_ATTEMPTS): FailedAttempts => {
  const buckets = new BoundedMap<string, { tokens: number; at: number }>(REMEMBERED_USERS);
  const tokensOf = (userId: string, now: number): number => {
    const bucket = buckets.get(userId);
    return bucket === undefined ? setting.burst : Math.min(setting.burst, bucket.tokens + ((now - bucket.at) / 1000) * setting.perSecond);
  };
  return {
    retryAfterMs(userId) {
      const tokens = tokensOf(userId, clock.now());
      return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / setting.perSecond) * 1000);
    },
    record(userId) {
      const now = clock.now();
      buckets.set(userId, { tokens: Math.max(0, tokensOf(userId, now) - 1), at: now });
    },
  };
};
