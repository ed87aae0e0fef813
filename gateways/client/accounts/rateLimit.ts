/**
 * Token-bucket rate limiting (client-server-api § Rate limiting): a refused request gets 429
 * M_LIMIT_EXCEEDED with the deprecated `retry_after_ms` and a `Retry-After` header in seconds.
 * Buckets are per key: the user for authenticated requests, the client IP otherwise.
 */
import { MatrixError } from '../../../domain/index.ts';
import type { StrataContext, StrataMiddleware } from '../../http/index.ts';
import { optionalRequesterOf } from './auth.ts';

/** Same shape as the config's rate limits: a sustained rate and the burst allowed above it. */
export interface RateLimitSetting {
  readonly perSecond: number;
  readonly burst: number;
}

export interface RateLimiter {
  /** Takes one token for `key`: 0 when allowed, else the milliseconds until a token is available. */
  take(key: string): number;
}

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Past this many keys, full buckets (idle clients) are forgotten so memory stays bounded. */
const SWEEP_THRESHOLD = 10_000;

export const createTokenBucketLimiter = (setting: RateLimitSetting, now: () => number = Date.now): RateLimiter => {
  const buckets = new Map<string, Bucket>();
  const refill = (bucket: Bucket, at: number): void => {
    bucket.tokens = Math.min(setting.burst, bucket.tokens + ((at - bucket.updatedMs) / 1000) * setting.perSecond);
    bucket.updatedMs = at;
  };
  const sweep = (at: number): void => {
    for (const [key, bucket] of buckets) {
      refill(bucket, at);
      if (bucket.tokens >= setting.burst) buckets.delete(key);
    }
  };
  return {
    take(key) {
      const at = now();
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        if (buckets.size >= SWEEP_THRESHOLD) sweep(at);
        bucket = { tokens: setting.burst, updatedMs: at };
        buckets.set(key, bucket);
      } else {
        refill(bucket, at);
      }
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return 0;
      }
      return Math.ceil(((1 - bucket.tokens) / setting.perSecond) * 1000);
    },
  };
};

const defaultKey = (ctx: StrataContext): string => {
  const requester = optionalRequesterOf(ctx);
  return requester === undefined ? `ip:${ctx.ip}` : `user:${requester.userId}`;
};

/**
 * Requests of an application service registered with `rate_limited: false` (its sender's and the
 * users it masquerades as) are never limited (application-service-api.md § Registration).
 */
const isExempt = (ctx: StrataContext): boolean => optionalRequesterOf(ctx)?.appservice?.rateLimited === false;

/**
 * A middleware that refuses requests over the limit; `null` turns limiting off. `exempt` spares
 * more requests than those of unlimited application services (e.g. ones not authenticated yet).
 */
export const rateLimit = (
  limiter: RateLimiter | null,
  keyOf: (ctx: StrataContext) => string = defaultKey,
  exempt: (ctx: StrataContext) => boolean = () => false,
): StrataMiddleware =>
  async (ctx, next) => {
    if (limiter !== null && !isExempt(ctx) && !exempt(ctx)) {
      const waitMs = limiter.take(keyOf(ctx));
      if (waitMs > 0) {
        ctx.set('Retry-After', String(Math.ceil(waitMs / 1000)));
        throw new MatrixError('M_LIMIT_EXCEEDED', 429, 'Too many requests', { retry_after_ms: waitMs });
      }
    }
    await next();
  };
