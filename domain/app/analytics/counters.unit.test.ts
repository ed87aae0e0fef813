import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { countersMessage, createAnalyticsCountersFeed, type AnalyticsCounters, type AnalyticsCountersReadModel } from './counters.ts';

const countersAt = (ts: number, events: number): AnalyticsCounters => ({
  ts, eventsLastMinute: events, eventsLastHour: events, eventsToday: events, sendersToday: 1, roomsToday: 1, byTypeLastHour: { 'm.room.message': events },
});

/** A read model whose polls are counted and answered when the test says. */
const controlledReadModel = () => {
  const polls: { now: number; answer: (counters: AnalyticsCounters) => void; fail: (error: Error) => void }[] = [];
  const readModel: AnalyticsCountersReadModel = {
    counters: (now) => new Promise((resolve, reject) => { polls.push({ now, answer: resolve, fail: reject }); }),
  };
  return { readModel, polls };
};

describe('analytics counters feed', () => {
  let now = 1_000_000;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 1_000_000;
  });
  afterEach(() => { vi.useRealTimers(); });

  it('polls once for every listener: at once for the first, every interval while anyone listens, never overlapping', async () => {
    const { readModel, polls } = controlledReadModel();
    const feed = createAnalyticsCountersFeed({ readModel, now: () => now, onError: () => undefined });
    feed.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(polls).toHaveLength(0); // nobody listens: the warehouse is not asked

    const a: number[] = [];
    const b: number[] = [];
    const stopA = feed.subscribe((counters) => a.push(counters.eventsToday));
    const stopB = feed.subscribe((counters) => b.push(counters.eventsToday));
    expect(polls).toHaveLength(1); // the second listener shares the poll under way
    polls[0]!.answer(countersAt(now, 1));
    await vi.advanceTimersByTimeAsync(0);
    expect([a, b]).toEqual([[1], [1]]);

    // The next poll comes one interval after the first; a tick while it is still under way starts none.
    await vi.advanceTimersByTimeAsync(1_999);
    expect(polls).toHaveLength(1);
    now += 2_000;
    await vi.advanceTimersByTimeAsync(1);
    expect(polls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(polls).toHaveLength(2);
    polls[1]!.answer(countersAt(polls[1]!.now, 2));
    await vi.advanceTimersByTimeAsync(0);
    expect([a, b]).toEqual([[1, 2], [1, 2]]);

    // A new listener gets the latest counters at once, without a poll.
    const c: number[] = [];
    const stopC = feed.subscribe((counters) => c.push(counters.eventsToday));
    expect(c).toEqual([2]);
    expect(polls).toHaveLength(2);

    stopA();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(polls).toHaveLength(3);
    polls[2]!.answer(countersAt(now, 3));
    await vi.advanceTimersByTimeAsync(0);
    expect([a, b, c]).toEqual([[1, 2], [1, 2, 3], [2, 3]]);

    // Nobody left: the polls stop; the next listener starts them again at once.
    stopB();
    stopC();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(polls).toHaveLength(3);
    const d: number[] = [];
    feed.subscribe((counters) => d.push(counters.eventsToday));
    expect(d).toEqual([]); // the last counters are stale by now: not given
    expect(polls).toHaveLength(4);
    polls[3]!.answer(countersAt(now, 5));
    await vi.advanceTimersByTimeAsync(0);
    expect(d).toEqual([5]);
    await feed.stop();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(polls).toHaveLength(4);
  });

  it('reports a failure streak once, keeps polling, and says when it recovers', async () => {
    const { readModel, polls } = controlledReadModel();
    const errors: unknown[] = [];
    let recovered = 0;
    const feed = createAnalyticsCountersFeed({
      readModel, now: () => now, intervalMs: 1_000, onError: (error) => errors.push(error), onRecovered: () => { recovered += 1; },
    });
    feed.start();
    const seen: number[] = [];
    feed.subscribe((counters) => seen.push(counters.eventsToday));
    polls[0]!.fail(new Error('down'));
    await vi.advanceTimersByTimeAsync(1_000);
    polls[1]!.fail(new Error('still down'));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(errors).toEqual([new Error('down')]);
    expect(seen).toEqual([]);
    polls[2]!.answer(countersAt(now, 7));
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([7]);
    expect(recovered).toBe(1);
    await feed.stop();
  });

  it('renders the contract message', () => {
    expect(countersMessage(countersAt(5, 3))).toEqual({
      type: 'counters', ts: 5, events_last_minute: 3, events_last_hour: 3, events_today: 3, senders_today: 1, rooms_today: 1,
      by_type_last_hour: { 'm.room.message': 3 },
    });
  });
});
