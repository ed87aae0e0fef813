import { describe, expect, it } from 'vitest';
import { summarize } from './stats.ts';
import type { StepFigures } from './tracker.ts';
import { achievedRate, judgeStep, sustainedRate, type StepResult } from './verdict.ts';

const step = (rate: number, over: Partial<StepFigures> = {}, schedule: Partial<StepResult['schedule']> = {}): StepResult => {
  const scheduled = rate * 10;
  return {
    rate,
    schedule: { scheduled, started: scheduled, skipped: 0, rejected: 0, elapsedMs: 10_000, ...schedule },
    figures: {
      sendOk: scheduled, sendFailed: 0, sendErrors: [], expectedDeliveries: scheduled, deliveries: scheduled,
      lostDeliveries: 0, messagesDelivered: scheduled, deliveredAfterFailedSend: 0,
      sendLatency: summarize([5, 10]), deliveryLatency: summarize([20, 40, 900]),
      ...over,
    },
  };
};

describe('judgeStep', () => {
  it('accepts a step that delivered everything in time at the offered rate', () => {
    expect(achievedRate(step(200))).toBe(200);
    expect(judgeStep(step(200), 1000)).toEqual({ sustained: true, reasons: [] });
  });

  it('names each way a step falls short', () => {
    const bad = step(200, { lostDeliveries: 50, sendFailed: 10, sendOk: 1000, deliveryLatency: summarize([3000]) }, { skipped: 990 });
    expect(judgeStep(bad, 1000).reasons).toEqual([
      'deliveries lost',
      'in-flight cap reached',
      'sends failed',
      'throughput below 90% of offered',
      'delivery p99 over 1000 ms',
    ]);
  });

  it('does not sustain a step with no deliveries at all', () => {
    const empty = step(100, { sendOk: 0, expectedDeliveries: 0, deliveries: 0, deliveryLatency: summarize([]) });
    expect(judgeStep(empty, 1000).sustained).toBe(false);
  });
});

describe('sustainedRate', () => {
  it('is the highest sustained rate, even past a failed one', () => {
    const slow = step(800, { deliveryLatency: summarize([5000]) });
    expect(sustainedRate([step(200), step(400), slow], 1000)).toBe(400);
    expect(sustainedRate([slow], 1000)).toBeUndefined();
  });
});
