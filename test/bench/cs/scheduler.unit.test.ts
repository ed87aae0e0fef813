import { describe, expect, it } from 'vitest';
import { runOpenLoop } from './scheduler.ts';

/** A virtual clock: sleeping advances time and fires the timers that fall due on the way. */
const virtualClock = () => {
  let time = 0;
  let sleeps = 0;
  const timers: { at: number; fire: () => void }[] = [];
  const fireUntil = (until: number) => {
    timers.sort((a, b) => a.at - b.at);
    while (timers.length > 0 && (timers[0]?.at ?? Infinity) <= until) {
      const timer = timers.shift();
      if (timer === undefined) break;
      time = Math.max(time, timer.at);
      timer.fire();
    }
    if (Number.isFinite(until)) time = Math.max(time, until);
  };
  return {
    now: () => time,
    // Lets the fired requests' continuations run before the scheduler looks again, as real timers do.
    sleep: async (ms: number) => {
      sleeps += 1;
      fireUntil(time + ms);
      await new Promise((resolve) => setImmediate(resolve));
    },
    after: (ms: number) => new Promise<void>((resolve) => timers.push({ at: time + ms, fire: resolve })),
    fireAll: () => fireUntil(Infinity),
    sleeps: () => sleeps,
  };
};

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Lets the scheduler run; once it stops sleeping (only waiting for requests), finishes them all. */
const finish = async <T>(clock: ReturnType<typeof virtualClock>, run: Promise<T>): Promise<T> => {
  let finished = false;
  void run.then(() => (finished = true));
  while (!finished) {
    const before = clock.sleeps();
    await settle();
    await settle();
    if (!finished && clock.sleeps() === before) clock.fireAll();
  }
  return run;
};

describe('runOpenLoop', () => {
  it('starts each request at its scheduled time', async () => {
    const clock = virtualClock();
    const startedAt: number[] = [];
    const intended: number[] = [];
    const result = await runOpenLoop({
      rate: 10, durationSeconds: 1, maxInFlight: 100, now: clock.now, sleep: clock.sleep,
      send: async (_i, at) => void (startedAt.push(clock.now()), intended.push(at)),
    });
    expect(result).toMatchObject({ scheduled: 10, started: 10, skipped: 0, rejected: 0 });
    expect(startedAt).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(intended).toEqual(startedAt);
  });

  it('keeps sending on schedule while earlier requests are slow', async () => {
    const clock = virtualClock();
    const startedAt: number[] = [];
    const run = runOpenLoop({
      rate: 10, durationSeconds: 1, maxInFlight: 100, now: clock.now, sleep: clock.sleep,
      send: (index) => {
        startedAt.push(clock.now());
        return clock.after(index === 0 ? 5000 : 450);
      },
    });
    const result = await finish(clock, run);
    expect(startedAt).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    expect(result).toMatchObject({ started: 10, skipped: 0 });
    expect(result.elapsedMs).toBe(5000);
  });

  it('skips and counts requests due while the in-flight cap is reached', async () => {
    const clock = virtualClock();
    const sent: number[] = [];
    const run = runOpenLoop({
      rate: 10, durationSeconds: 1, maxInFlight: 3, now: clock.now, sleep: clock.sleep,
      send: (index) => {
        sent.push(index);
        return clock.after(350);
      },
    });
    const result = await finish(clock, run);
    // Each request holds its slot for 350 ms, so at 300 and 700 ms all three slots are taken.
    expect(sent).toEqual([0, 1, 2, 4, 5, 6, 8, 9]);
    expect(result).toMatchObject({ scheduled: 10, started: 8, skipped: 2 });
  });

  it('counts rejected sends and stops when aborted', async () => {
    const clock = virtualClock();
    const controller = new AbortController();
    const result = await runOpenLoop({
      rate: 100, durationSeconds: 10, maxInFlight: 10, now: clock.now, sleep: clock.sleep, signal: controller.signal,
      send: async (index) => {
        if (index === 4) controller.abort();
        throw new Error('refused');
      },
    });
    expect(result.started).toBe(5);
    expect(result.rejected).toBe(5);
    expect(result.scheduled).toBe(1000);
  });

  it('sends several due requests in one turn when the timer fires late', async () => {
    let time = 0;
    const startedAt: number[] = [];
    await runOpenLoop({
      rate: 1000, durationSeconds: 0.01, maxInFlight: 100, now: () => time,
      sleep: async () => void (time += 4), // a timer that always fires 4 ms late
      send: async () => void startedAt.push(time),
    });
    expect(startedAt).toHaveLength(10);
    expect(new Set(startedAt).size).toBeLessThan(10);
  });
});
