import { describe, expect, it } from 'vitest';
import { formatMs, percentile, summarize } from './stats.ts';

describe('percentile', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);

  it('uses the nearest rank', () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 95)).toBe(95);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
    expect(percentile([10, 20, 30], 50)).toBe(20);
    expect(percentile([10, 20, 30], 99)).toBe(30);
  });

  it('clamps to the first sample and is NaN without samples', () => {
    expect(percentile([7], 0)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('summarize', () => {
  it('sorts a copy and reports count, percentiles and max', () => {
    const samples = [5, 1, 4, 2, 3];
    expect(summarize(samples)).toEqual({ count: 5, p50: 3, p95: 5, p99: 5, max: 5 });
    expect(samples).toEqual([5, 1, 4, 2, 3]);
  });

  it('reports NaN figures for an empty run', () => {
    const s = summarize([]);
    expect(s.count).toBe(0);
    expect(s.max).toBeNaN();
    expect(formatMs(s.p99)).toBe('-');
  });
});

describe('formatMs', () => {
  it('keeps a decimal only where it matters', () => {
    expect(formatMs(3.14159)).toBe('3.1 ms');
    expect(formatMs(123.6)).toBe('124 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
  });
});
