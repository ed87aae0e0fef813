import { describe, expect, it } from 'vitest';
import { benchMessageContent, benchMessageId, createDeliveryTracker } from './tracker.ts';

describe('createDeliveryTracker', () => {
  it('measures delivery from send start, per listener, and counts losses', () => {
    const t = createDeliveryTracker('run1.0');
    const a = t.messageId(0);
    const b = t.messageId(1);
    expect(a).toBe('run1.0.0');
    t.sendStarted(a, [0, 1], 1000);
    t.sendStarted(b, [0, 1], 1010);
    t.sendFinished(a, 1020);
    t.sendFinished(b, 1050);
    expect(t.outstanding()).toBe(4);
    expect(t.delivered(a, 0, 1100)).toBe(true);
    expect(t.delivered(a, 0, 1200)).toBe(false); // a repeat (e.g. backfill) is not a second delivery
    expect(t.delivered(a, 1, 1300)).toBe(true);
    expect(t.delivered(b, 0, 1110)).toBe(true);
    expect(t.delivered(b, 7, 1110)).toBe(false); // not a listener of that room
    expect(t.delivered('other.0.1', 0, 1110)).toBe(false);
    expect(t.outstanding()).toBe(1);
    const f = t.figures();
    expect(f).toMatchObject({ sendOk: 2, sendFailed: 0, expectedDeliveries: 4, deliveries: 3, lostDeliveries: 1, messagesDelivered: 1 });
    expect(f.deliveryLatency).toEqual({ count: 3, p50: 100, p95: 300, p99: 300, max: 300 });
    expect(f.sendLatency.max).toBe(40);
  });

  it('reports failed and unanswered sends with their reasons, not as losses', () => {
    const t = createDeliveryTracker('s');
    t.sendStarted('s.0', [0], 0);
    t.sendStarted('s.1', [0], 0);
    t.sendStarted('s.2', [0], 0);
    t.sendFinished('s.0', 5, 'PUT send → 500');
    t.sendFinished('s.1', 5, 'PUT send → 500');
    t.delivered('s.1', 0, 9);
    expect(t.outstanding()).toBe(1); // s.2 may still be delivered
    const f = t.figures();
    expect(f).toMatchObject({ sendOk: 0, sendFailed: 3, lostDeliveries: 0, deliveredAfterFailedSend: 1 });
    expect(f.sendErrors).toEqual([['PUT send → 500', 2], ['no response before the step ended', 1]]);
    expect(f.deliveryLatency.count).toBe(0);
  });
});

describe('bench message content', () => {
  it('round-trips the id and carries the send time in the body', () => {
    const content = benchMessageContent('r.1.2', Date.UTC(2025, 0, 2, 3, 4, 5));
    expect(content.body).toBe('strata bench r.1.2 sent 2025-01-02T03:04:05.000Z');
    expect(benchMessageId({ type: 'm.room.message', content })).toBe('r.1.2');
    expect(benchMessageId({ content: { body: 'hello' } })).toBeUndefined();
    expect(benchMessageId(null)).toBeUndefined();
  });
});
