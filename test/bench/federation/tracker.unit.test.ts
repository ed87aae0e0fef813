import { describe, expect, it } from 'vitest';
import { createRunTracker, summarizeLatency } from './tracker.ts';

describe('createRunTracker', () => {
  it('times arrivals from the PUT returning, per listener, and counts what the receiver accepted', () => {
    const t = createRunTracker(2);
    t.sendStarted('a', 0);
    t.sendReturned('a', 10);
    t.sendStarted('b', 100);
    t.sendReturned('b', 120);
    expect(t.seen('a', 0, 30)).toBe(true);
    expect(t.seen('a', 0, 31)).toBe(false);
    expect(t.seen('a', 2, 31)).toBe(false);
    expect(t.seen('nope', 0, 31)).toBe(false);
    t.seen('a', 1, 50);
    t.seen('b', 1, 1100);
    expect(t.accepted()).toBe(2);
    expect(t.outstanding()).toBe(1);
    const f = t.figures();
    expect(f).toMatchObject({ sendOk: 2, sendFailed: 0, accepted: 2, lost: 0, incomplete: 1, beforeSendReturned: 0, sendP50: 10 });
    expect(f.latency).toMatchObject({ count: 3, p50: 40, max: 980 });
    // Two accepted from the first send (t=0) until the last first arrival (t=1100).
    expect(f.acceptedPerSecond).toBeCloseTo(2 / 1.1);
    expect(f.inHistory).toBeUndefined();
  });

  it('keeps failed sends out of the figures, counts losses, early arrivals and history', () => {
    const t = createRunTracker(1);
    t.sendStarted('ok', 0);
    t.seen('ok', 0, 5);
    t.sendReturned('ok', 20);
    t.sendStarted('lost', 0);
    t.sendReturned('lost', 10);
    t.sendStarted('failed', 0);
    t.sendReturned('failed', 10, 'HTTP 500');
    t.sendStarted('pending', 0);
    t.recordHistory(new Set(['ok', 'lost']));
    const f = t.figures();
    expect(f).toMatchObject({ sendOk: 2, sendFailed: 2, accepted: 1, lost: 1, incomplete: 1, beforeSendReturned: 1, inHistory: 2 });
    expect(f.sendErrors).toEqual([['HTTP 500', 1], ['no answer before the run ended', 1]]);
    expect(f.latency.p50).toBe(-15);
  });
});

describe('summarizeLatency', () => {
  it('gives nearest-rank percentiles, NaN when empty', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(summarizeLatency(samples)).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(summarizeLatency([]).p99).toBeNaN();
  });
});
