import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createFlushQueue } from './clickhouseBatches.ts';

/** A flush that records what it was given and finishes when the test says so. */
const recordingFlush = (fail?: (items: readonly string[]) => boolean) => {
  const flushes: string[][] = [];
  const finish: (() => void)[] = [];
  const flush = (items: readonly string[]) => {
    flushes.push([...items]);
    return new Promise<void>((resolve, reject) => finish.push(() => (fail?.(items) ? reject(new Error(`bad ${items.join(',')}`)) : resolve())));
  };
  return { flushes, finish, flush };
};

describe('createFlushQueue', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('cuts a flush by time: batches arriving within the linger go together, none waits longer', async () => {
    const { flushes, finish, flush } = recordingFlush();
    const queue = createFlushQueue({ maxRows: 1000, lingerMs: 100 }, flush, () => Date.now());
    const a = queue.add('p0', 10);
    await vi.advanceTimersByTimeAsync(60);
    const b = queue.add('p1', 10);
    expect(flushes).toEqual([]);
    await vi.advanceTimersByTimeAsync(40);
    expect(flushes).toEqual([['p0', 'p1']]);
    finish.shift()!();
    await expect(Promise.all([a, b])).resolves.toEqual([undefined, undefined]);
  });

  it('cuts a flush by size at once, taking whole batches up to maxRows, and never runs two flushes together', async () => {
    const { flushes, finish, flush } = recordingFlush();
    const queue = createFlushQueue({ maxRows: 100, lingerMs: 10_000 }, flush, () => Date.now());
    const added = [queue.add('a', 60), queue.add('b', 30), queue.add('c', 30), queue.add('d', 150)];
    // 'c' would pass 100 rows: the first flush holds a and b, started without waiting for the linger.
    expect(flushes).toEqual([['a', 'b']]);
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toHaveLength(1);
    finish.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    // 180 rows still wait: c goes next, then d alone although it exceeds maxRows.
    expect(flushes).toEqual([['a', 'b'], ['c']]);
    finish.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toEqual([['a', 'b'], ['c'], ['d']]);
    finish.shift()!();
    await expect(Promise.all(added)).resolves.toHaveLength(4);
  });

  it('after a failed flush, each batch goes again alone: only the bad one fails', async () => {
    const { flushes, finish, flush } = recordingFlush((items) => items.includes('bad'));
    const queue = createFlushQueue({ maxRows: 1000, lingerMs: 0 }, flush, () => Date.now());
    const good = queue.add('good', 1);
    const bad = queue.add('bad', 1);
    await vi.advanceTimersByTimeAsync(0);
    expect(flushes).toEqual([['good']]);
    finish.shift()!();
    await vi.advanceTimersByTimeAsync(0);
    // A linger of 0 flushes at once: 'bad' arrived while 'good' was in flight, and then goes alone.
    expect(flushes).toEqual([['good'], ['bad']]);
    finish.shift()!();
    await expect(good).resolves.toBeUndefined();
    await expect(bad).rejects.toThrow('bad bad');

    const queue2 = createFlushQueue({ maxRows: 1000, lingerMs: 50 }, flush, () => Date.now());
    const together = [queue2.add('ok', 1), queue2.add('bad', 1), queue2.add('fine', 1)];
    const outcomes = Promise.allSettled(together);
    await vi.advanceTimersByTimeAsync(50);
    expect(flushes.at(-1)).toEqual(['ok', 'bad', 'fine']);
    finish.shift()!();
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(0);
      finish.shift()!();
    }
    expect(flushes.slice(-3)).toEqual([['ok'], ['bad'], ['fine']]);
    expect((await outcomes).map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('refuses limits that would never flush', () => {
    const { flush } = recordingFlush();
    expect(() => createFlushQueue({ maxRows: 0, lingerMs: 10 }, flush)).toThrow(RangeError);
    expect(() => createFlushQueue({ maxRows: 10, lingerMs: -1 }, flush)).toThrow(RangeError);
  });
});
