import { describe, expect, it } from 'vitest';
import { benchMessageContent, benchMessageId, createDeliveryTracker, TRACE_HEADER, traceLines } from './tracker.ts';

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

describe('the per-message trace', () => {
  it('lists every message in send order from the first send, with its send time and last delivery', () => {
    const t = createDeliveryTracker('s');
    t.sendStarted('s.0', [0, 1], 1000);
    t.sendStarted('s.1', [0], 1004);
    t.sendStarted('s.2', [0], 1008);
    t.sendFinished('s.0', 1020);
    t.sendFinished('s.1', 1030, 'PUT send → 500');
    t.delivered('s.0', 1, 1100);
    t.delivered('s.0', 0, 1050);
    expect(t.timeline()).toEqual([
      { id: 's.0', startedMs: 0, sendMs: 20, failed: false, listeners: 2, delivered: 2, lastDeliveryMs: 100 },
      { id: 's.1', startedMs: 4, sendMs: 26, failed: true, listeners: 1, delivered: 0, lastDeliveryMs: undefined },
      { id: 's.2', startedMs: 8, sendMs: undefined, failed: false, listeners: 1, delivered: 0, lastDeliveryMs: undefined },
    ]);
    expect(traceLines('Strata', 500, t.timeline())).toEqual([
      'Strata,500,s.0,0.0,20.0,0,2,2,100.0', 'Strata,500,s.1,4.0,26.0,1,1,0,', 'Strata,500,s.2,8.0,,0,1,0,',
    ]);
    expect(TRACE_HEADER.split(',')).toHaveLength(9);
    expect(traceLines('a "b", c', 1, t.timeline())[0]).toBe('"a ""b"", c",1,s.0,0.0,20.0,0,2,2,100.0');
  });
});
