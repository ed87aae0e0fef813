import { describe, expect, it } from 'vitest';
import { outOfOrder, stepFigures, type Arrival, type SendRecord } from './figures.ts';

const send = (eventId: string, startedAt: number, returnedAt: number, roomId = '!a'): SendRecord => ({ eventId, roomId, startedAt, returnedAt });
const arrival = (eventId: string, receivedAt: number, txnId = 't1', roomId = '!a'): Arrival => ({ eventId, roomId, txnId, receivedAt });

describe('appservice bench figures', () => {
  it('measures delivery rate, latency from the send, transactions and losses', () => {
    const sends = [send('$1', 0, 10), send('$2', 100, 110), send('$3', 200, 210), { roomId: '!a', startedAt: 300, skipped: true }];
    const arrivals = [arrival('$1', 20, 't1'), arrival('$2', 150, 't2'), arrival('$2', 160, 't3')];
    const figures = stepFigures(10, sends, arrivals, new Map([['t1', 1], ['t2', 3], ['t3', 1]]));
    expect(figures).toMatchObject({ rate: 10, sent: 3, skipped: 1, failed: 0, delivered: 2, missing: 1, duplicates: 1, outOfOrder: 0, transactions: 2 });
    expect(figures.eventsPerSecond).toBeCloseTo(2 / 0.15);
    expect(figures.latency).toMatchObject({ count: 2, p50: 20, p99: 50, max: 50 });
    expect(figures.putP50).toBe(10);
    expect(figures.eventsPerTransaction).toBe(2);
  });

  it('counts an event delivered before one whose send had returned before its own started', () => {
    // $1 returned at 10, $2 started at 20: $1 must come first. $3 overlapped $2: either order.
    const sends = [send('$1', 0, 10), send('$2', 20, 40), send('$3', 30, 50), send('$4', 0, 5, '!b')];
    expect(outOfOrder(sends, new Map([['$2', 0], ['$1', 1], ['$3', 2], ['$4', 3]]))).toBe(1);
    expect(outOfOrder(sends, new Map([['$1', 0], ['$3', 1], ['$2', 2], ['$4', 3]]))).toBe(0);
  });

  it('reads an undelivered step as nothing delivered, not as fast', () => {
    const figures = stepFigures(5, [send('$1', 0, 10)], [], new Map());
    expect(figures).toMatchObject({ delivered: 0, missing: 1, eventsPerSecond: 0, transactions: 0 });
    expect(figures.latency.p99).toBeNaN();
  });
});
