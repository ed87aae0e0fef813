import { describe, expect, it } from 'vitest';
import { bucketFor, bucketLabel, parseUtcInput, rangeOf } from './intervals.ts';

const at = Date.UTC(2026, 11, 5, 15, 42, 17, 5);

describe('dashboard intervals', () => {
  it('ends a preset with the bucket holding now and picks a readable bucket', () => {
    expect(rangeOf('hour', at)).toEqual({ bucket: 'minute', to: Date.UTC(2026, 11, 5, 15, 43), from: Date.UTC(2026, 11, 5, 14, 43) });
    expect(rangeOf('day', at)).toEqual({ bucket: 'hour', to: Date.UTC(2026, 11, 5, 16), from: Date.UTC(2026, 11, 4, 16) });
    expect(rangeOf('week', at)).toEqual({ bucket: 'hour', to: Date.UTC(2026, 11, 5, 16), from: Date.UTC(2026, 10, 28, 16) });
    expect(rangeOf('month', at)).toEqual({ bucket: 'day', to: Date.UTC(2026, 11, 6), from: Date.UTC(2026, 10, 6) });
  });

  it('reads a custom range in UTC and refuses an empty or reversed one', () => {
    expect(rangeOf('custom', at, { from: Date.UTC(2026, 0, 1, 0, 30), to: Date.UTC(2026, 0, 1, 2) }))
      .toEqual({ bucket: 'minute', from: Date.UTC(2026, 0, 1, 0, 30), to: Date.UTC(2026, 0, 1, 2) });
    expect(rangeOf('custom', at, { from: Date.UTC(2026, 0, 1, 10, 30), to: Date.UTC(2026, 2, 1) }))
      .toEqual({ bucket: 'day', from: Date.UTC(2026, 0, 1), to: Date.UTC(2026, 2, 1) });
    expect(rangeOf('custom', at, { from: 5 })).toBe('Give both ends of the custom range');
    expect(rangeOf('custom', at, { from: 5, to: 5 })).toBe("'From' must be before 'To'");
    expect(parseUtcInput('2026-01-01T00:30')).toBe(Date.UTC(2026, 0, 1, 0, 30));
    expect(parseUtcInput('')).toBeUndefined();
    expect(parseUtcInput('2026-13-01T00:00')).toBeUndefined();
  });

  it('labels buckets in UTC', () => {
    expect(bucketFor(6 * 3_600_000)).toBe('minute');
    expect(bucketFor(8 * 86_400_000)).toBe('hour');
    expect(bucketFor(9 * 86_400_000)).toBe('day');
    expect(bucketLabel(at, 'hour')).toBe('2026-12-05 15:42');
    expect(bucketLabel(at, 'day')).toBe('2026-12-05');
  });
});
