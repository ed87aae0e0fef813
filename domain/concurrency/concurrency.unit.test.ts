import { describe, expect, it } from 'vitest';
import { createGroupCommit } from './groupCommit.ts';
import { createKeyedQueue } from './keyedQueue.ts';

/** A flush that records its batches and is held until released. */
const heldFlush = () => {
  const calls: { items: readonly string[]; release: (fail?: Error) => void }[] = [];
  const flush = (items: readonly string[]) => new Promise<string[]>((resolve, reject) => {
    calls.push({ items, release: (fail) => (fail === undefined ? resolve(items.map((item) => item.toUpperCase())) : reject(fail)) });
  });
  return { calls, flush };
};
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('group commit', () => {
  it('flushes the first item at once and everything added meanwhile together, each caller getting its own result', async () => {
    const { calls, flush } = heldFlush();
    const commit = createGroupCommit(flush);
    const a = commit.add('a');
    expect(calls.map((call) => call.items)).toEqual([['a']]);
    const b = commit.add('b');
    const c = commit.add('c');
    expect(commit.busy).toBe(true);
    calls[0]!.release();
    expect(await a).toBe('A');
    await tick();
    expect(calls.map((call) => call.items)).toEqual([['a'], ['b', 'c']]);
    calls[1]!.release();
    expect([await b, await c]).toEqual(['B', 'C']);
    await tick();
    expect(commit.busy).toBe(false);
  });

  it('fails only the failed flush by default, and the queued items too when they were built on it', async () => {
    for (const failQueuedOnError of [false, true]) {
      const { calls, flush } = heldFlush();
      const commit = createGroupCommit(flush, { failQueuedOnError });
      const a = commit.add('a');
      const b = commit.add('b');
      const outcomes = Promise.allSettled([a, b]);
      calls[0]!.release(new Error('broker down'));
      await tick();
      if (!failQueuedOnError) calls[1]!.release();
      const [first, second] = await outcomes;
      expect(first.status).toBe('rejected');
      expect(second).toEqual(failQueuedOnError ? { status: 'rejected', reason: new Error('broker down') } : { status: 'fulfilled', value: 'B' });
    }
  });

  it('pipelined, starts the next flush while one is in flight, hands it that flush, and fails it with it', async () => {
    const previousOf: Promise<unknown>[] = [];
    const { calls, flush } = heldFlush();
    const failures: unknown[] = [];
    const commit = createGroupCommit((items: readonly string[], previous: Promise<unknown>) => {
      previousOf.push(previous);
      // Like a log append: prepared at once, written only after the flush before it.
      return flush(items).then(async (results) => {
        await previous;
        return results;
      });
    }, { pipeline: 2, failQueuedOnError: true, onError: (error) => failures.push(error) });
    const a = commit.add('a');
    const b = commit.add('b');
    const c = commit.add('c');
    const d = commit.add('d');
    // Two flushes in flight; what came after waits for a place.
    expect(calls.map((call) => call.items)).toEqual([['a'], ['b']]);
    calls[1]!.release();
    calls[0]!.release();
    expect([await a, await b]).toEqual(['A', 'B']);
    await tick();
    expect(calls.map((call) => call.items)).toEqual([['a'], ['b'], ['c', 'd']]);
    expect(previousOf[1]).not.toBe(previousOf[0]);
    calls[2]!.release();
    expect([await c, await d]).toEqual(['C', 'D']);
    await tick();
    expect(commit.busy).toBe(false);

    // A failed flush fails the one in flight behind it, and what was queued after both.
    const e = commit.add('e');
    const f = commit.add('f');
    const g = commit.add('g');
    const outcomes = Promise.allSettled([e, f, g]);
    calls[4]!.release();
    calls[3]!.release(new Error('broker down'));
    expect((await outcomes).map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(failures).toEqual([new Error('broker down'), new Error('broker down')]);
    await tick();
    expect(commit.busy).toBe(false);
    expect(() => createGroupCommit(flush, { pipeline: 0 })).toThrow(RangeError);
  });

  it('gathers a tick’s items into one flush when scheduled later', async () => {
    const { calls, flush } = heldFlush();
    const commit = createGroupCommit(flush, { schedule: (start) => setImmediate(start) });
    const all = Promise.all(['a', 'b', 'c'].map((item) => commit.add(item)));
    expect(calls).toHaveLength(0);
    await tick();
    expect(calls.map((call) => call.items)).toEqual([['a', 'b', 'c']]);
    calls[0]!.release();
    expect(await all).toEqual(['A', 'B', 'C']);
  });

  it('lets what an answer’s callers add on hearing it join the next flush when told to wait between flushes', async () => {
    /** Callers that each add their next item a few promise steps after hearing the answer to their last. */
    const run = async (between?: (next: () => void) => void) => {
      const { calls, flush } = heldFlush();
      const commit = createGroupCommit(flush, between === undefined ? {} : { between });
      const follow = (item: string, then: string) => commit.add(item).then(async () => {
        await Promise.resolve();
        await Promise.resolve();
        return commit.add(then);
      });
      let done = false;
      const all = Promise.all([follow('a1', 'a2'), ...['b', 'c'].map((room) => follow(`${room}1`, `${room}2`))]).then(() => { done = true; });
      for (let answered = 0; !done; await tick()) {
        while (answered < calls.length) calls[answered++]!.release();
      }
      await all;
      return calls.map((call) => call.items);
    };
    // At once: the flush after an answer carries only what waited, and the callers it answered stay a round trip behind.
    expect(await run()).toEqual([['a1'], ['b1', 'c1'], ['a2'], ['b2', 'c2']]);
    expect(await run((next) => process.nextTick(next))).toEqual([['a1'], ['b1', 'c1', 'a2'], ['b2', 'c2']]);
  });

  it('rejects every item when the flush answers the wrong number of results', async () => {
    const commit = createGroupCommit(async () => ['only one']);
    const first = commit.add('a');
    const second = commit.add('b');
    await expect(first).resolves.toBe('only one');
    await expect(second).resolves.toBe('only one');
    const broken = createGroupCommit(async () => []);
    await expect(broken.add('a')).rejects.toThrow('0 results for 1 items');
  });
});

describe('keyed queue', () => {
  it('runs a key’s tasks in order, other keys alongside, and goes on after a failure', async () => {
    const queue = createKeyedQueue<string>();
    const order: string[] = [];
    let releaseFirst!: () => void;
    const first = queue.run('room', () => new Promise<void>((resolve) => { releaseFirst = () => { order.push('room 1'); resolve(); }; }));
    const failing = queue.run('room', async () => { order.push('room 2'); throw new Error('refused'); });
    const third = queue.run('room', async () => { order.push('room 3'); return 3; });
    const other = queue.run('other', async () => { order.push('other'); });
    await other;
    expect(order).toEqual(['other']);
    expect(queue.has('room')).toBe(true);
    releaseFirst();
    await first;
    await expect(failing).rejects.toThrow('refused');
    expect(await third).toBe(3);
    expect(order).toEqual(['other', 'room 1', 'room 2', 'room 3']);
    await tick();
    expect(queue.has('room')).toBe(false);
  });
});
