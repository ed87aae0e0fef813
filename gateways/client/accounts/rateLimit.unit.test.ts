import { describe, expect, it } from 'vitest';
import { createTokenBucketLimiter } from './rateLimit.ts';

describe('token bucket limiter', () => {
  it('allows the burst, then one request per refill interval, per key', () => {
    let now = 0;
    const limiter = createTokenBucketLimiter({ perSecond: 2, burst: 3 }, () => now);
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0]);
    expect(limiter.take('a')).toBe(500);
    expect(limiter.take('b')).toBe(0);
    now = 250;
    expect(limiter.take('a')).toBe(250);
    now = 500;
    expect(limiter.take('a')).toBe(0);
    expect(limiter.take('a')).toBe(500);
    now = 100_000;
    expect([limiter.take('a'), limiter.take('a'), limiter.take('a'), limiter.take('a')]).toEqual([0, 0, 0, 500]);
  });
});
