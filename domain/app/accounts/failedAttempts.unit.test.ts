import { describe, expect, it } from 'vitest';
import { createTestClock } from '../../../test/builders/index.ts';
import { createFailedAttempts } from './failedAttempts.ts';

describe('failed password attempts', () => {
  it('allows a burst of failures per user, then one per token that comes back', () => {
    const clock = createTestClock();
    const attempts = createFailedAttempts(clock, { perSecond: 0.5, burst: 2 });
    expect(attempts.retryAfterMs('@a:x')).toBe(0);
    attempts.record('@a:x');
    attempts.record('@a:x');
    expect(attempts.retryAfterMs('@a:x')).toBe(2000);
    expect(attempts.retryAfterMs('@b:x')).toBe(0);
    clock.advance(1500);
    expect(attempts.retryAfterMs('@a:x')).toBe(500);
    clock.advance(500);
    expect(attempts.retryAfterMs('@a:x')).toBe(0);
    attempts.record('@a:x');
    expect(attempts.retryAfterMs('@a:x')).toBe(2000);
    // Tokens come back up to the burst, no further.
    clock.advance(60_000);
    attempts.record('@a:x');
    attempts.record('@a:x');
    expect(attempts.retryAfterMs('@a:x')).toBeGreaterThan(0);
  });
});
