import { describe, expect, it } from 'vitest';
import { DEFAULT_PURGE_JOBS, effectiveMaxLifetime, jobCovers, roomPolicyOf, type RetentionSettings } from './policies.ts';

const DAY = 86_400_000;
const settings = (overrides: Partial<RetentionSettings> = {}): RetentionSettings => ({
  defaultPolicy: { minLifetimeMs: null, maxLifetimeMs: 30 * DAY },
  allowedLifetimeMinMs: DAY,
  allowedLifetimeMaxMs: 365 * DAY,
  purgeJobs: DEFAULT_PURGE_JOBS,
  ...overrides,
});

describe('room retention policies', () => {
  it('read integer lifetimes from m.room.retention and ignore anything else', () => {
    expect(roomPolicyOf({ min_lifetime: DAY, max_lifetime: 2 * DAY })).toEqual({ minLifetimeMs: DAY, maxLifetimeMs: 2 * DAY });
    expect(roomPolicyOf({ max_lifetime: '2d', min_lifetime: 1.5 })).toEqual({ minLifetimeMs: null, maxLifetimeMs: null });
    expect(roomPolicyOf(null)).toEqual({ minLifetimeMs: null, maxLifetimeMs: null });
  });

  it("use the room's max lifetime, else the server default, clamped to the allowed range", () => {
    expect(effectiveMaxLifetime(settings(), { max_lifetime: 7 * DAY })).toBe(7 * DAY);
    expect(effectiveMaxLifetime(settings(), null)).toBe(30 * DAY);
    expect(effectiveMaxLifetime(settings(), { min_lifetime: DAY })).toBe(30 * DAY);
    expect(effectiveMaxLifetime(settings(), { max_lifetime: 60_000 })).toBe(DAY);
    expect(effectiveMaxLifetime(settings(), { max_lifetime: 1000 * DAY })).toBe(365 * DAY);
    // No room policy and no default: kept forever.
    expect(effectiveMaxLifetime(settings({ defaultPolicy: { minLifetimeMs: null, maxLifetimeMs: null } }), null)).toBeNull();
  });

  it('give each purge job the rooms whose max lifetime is in (shortest, longest]', () => {
    const short = { shortestMaxLifetimeMs: null, longestMaxLifetimeMs: 3 * DAY, intervalMs: DAY };
    const long = { shortestMaxLifetimeMs: 3 * DAY, longestMaxLifetimeMs: null, intervalMs: DAY };
    expect(jobCovers(short, 3 * DAY)).toBe(true);
    expect(jobCovers(long, 3 * DAY)).toBe(false);
    expect(jobCovers(long, 3 * DAY + 1)).toBe(true);
    expect(jobCovers(DEFAULT_PURGE_JOBS[0]!, 1)).toBe(true);
  });
});
