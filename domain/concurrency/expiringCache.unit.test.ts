import { describe, expect, it } from 'vitest';
import { createExpiringCache } from './expiringCache.ts';

/** A store whose lookups are held until released, counting them. */
const heldStore = () => {
  const lookups: { key: string; release: (value: string | undefined) => void; fail: (error: Error) => void }[] = [];
  const load = (key: string) => () => new Promise<string | undefined>((resolve, reject) => {
    lookups.push({ key, release: resolve, fail: reject });
  });
  return { lookups, load };
};
const tick = () => new Promise((resolve) => setImmediate(resolve));

const cacheAt = (clock: { t: number }, keep?: (value: string | undefined) => boolean) =>
  createExpiringCache<string, string | undefined>({
    now: () => clock.t, ttlMs: 3_000, refreshAfterMs: 2_000, maxEntries: 2, ...(keep === undefined ? {} : { keep }),
  });

/** A cache on a test clock over a held store; `known` asks for `key` and answers its lookup with `value`. */
const setUp = (keep?: (value: string | undefined) => boolean) => {
  const clock = { t: 0 };
  const store = heldStore();
  const cache = cacheAt(clock, keep);
  const known = async (key: string, value: string | undefined) => {
    const answer = cache.get(key, store.load(key));
    store.lookups.at(-1)!.release(value);
    return answer;
  };
  return { clock, ...store, cache, known };
};

describe('expiring cache', () => {
  it('shares one lookup between callers asking while it is under way, then answers from memory', async () => {
    const { clock, lookups, load, cache } = setUp();
    const first = cache.get('a', load('a'));
    const second = cache.get('a', load('a'));
    expect(lookups).toHaveLength(1);
    lookups[0]!.release('A');
    expect([await first, await second]).toEqual(['A', 'A']);
    clock.t = 1_999;
    expect(await cache.get('a', load('a'))).toBe('A');
    expect(lookups).toHaveLength(1);
  });

  it('renews a key still in use in the background, serving the answer it has meanwhile', async () => {
    const { clock, lookups, load, cache, known } = setUp();
    await known('a', 'A');
    clock.t = 2_500;
    expect(await cache.get('a', load('a'))).toBe('A');
    expect(await cache.get('a', load('a'))).toBe('A');
    expect(lookups).toHaveLength(2);
    lookups[1]!.release('B');
    await tick();
    // Renewed at 2,500: served until 5,500 without asking again before 4,500.
    clock.t = 4_000;
    expect(await cache.get('a', load('a'))).toBe('B');
    expect(lookups).toHaveLength(2);
  });

  it('never serves an answer older than the time to live: an expired key waits for a new lookup', async () => {
    const { clock, lookups, load, cache, known } = setUp();
    await known('a', 'A');
    clock.t = 3_000;
    let answered: string | undefined;
    const late = cache.get('a', load('a')).then((value) => (answered = value));
    await tick();
    expect(answered).toBeUndefined();
    lookups[1]!.release('B');
    await late;
    expect(answered).toBe('B');
  });

  it('keeps only the answers `keep` accepts, and a refused answer drops the older one', async () => {
    const { clock, lookups, load, cache } = setUp((value) => value !== undefined);
    const unknown = cache.get('x', load('x'));
    lookups[0]!.release(undefined);
    expect(await unknown).toBeUndefined();
    const again = cache.get('x', load('x'));
    expect(lookups).toHaveLength(2);
    lookups[1]!.release('X');
    await again;
    clock.t = 2_100;
    expect(await cache.get('x', load('x'))).toBe('X');
    lookups[2]!.release(undefined);
    await tick();
    const after = cache.get('x', load('x'));
    expect(lookups).toHaveLength(4);
    lookups[3]!.release(undefined);
    expect(await after).toBeUndefined();
  });

  it('after forget, neither keeps nor shares a lookup begun before it', async () => {
    const { lookups, load, cache } = setUp();
    const before = cache.get('a', load('a'));
    cache.forget((key) => key === 'a');
    const after = cache.get('a', load('a'));
    expect(lookups).toHaveLength(2);
    lookups[0]!.release('old');
    lookups[1]!.release('new');
    expect([await before, await after]).toEqual(['old', 'new']);
    expect(await cache.get('a', load('a'))).toBe('new');
    expect(lookups).toHaveLength(2);
  });

  it('forgets only the matching answers', async () => {
    const { lookups, load, cache } = setUp();
    const a = cache.get('a', load('a'));
    const b = cache.get('b', load('b'));
    lookups[0]!.release('A');
    lookups[1]!.release('B');
    await Promise.all([a, b]);
    cache.forget((_key, value) => value === 'A');
    expect(await cache.get('b', load('b'))).toBe('B');
    void cache.get('a', load('a'));
    expect(lookups.map((lookup) => lookup.key)).toEqual(['a', 'b', 'a']);
  });

  it('passes a failed lookup to everyone sharing it and keeps nothing; a failed renewal leaves the answer to expire', async () => {
    const { clock, lookups, load, cache } = setUp();
    const first = cache.get('a', load('a'));
    const second = cache.get('a', load('a'));
    lookups[0]!.fail(new Error('store down'));
    await expect(first).rejects.toThrow('store down');
    await expect(second).rejects.toThrow('store down');
    const third = cache.get('a', load('a'));
    lookups[1]!.release('A');
    expect(await third).toBe('A');
    clock.t = 2_500;
    expect(await cache.get('a', load('a'))).toBe('A');
    lookups[2]!.fail(new Error('store down'));
    await tick();
    clock.t = 2_900;
    // The renewal failed: the answer is still within its time to live, and a renewal is tried again.
    expect(await cache.get('a', load('a'))).toBe('A');
    expect(lookups).toHaveLength(4);
  });

  it('holds at most maxEntries answers', async () => {
    const { lookups, load, cache } = setUp();
    for (const key of ['a', 'b', 'c']) {
      const answer = cache.get(key, load(key));
      lookups.at(-1)!.release(key.toUpperCase());
      await answer;
    }
    void cache.get('a', load('a'));
    expect(lookups.map((lookup) => lookup.key)).toEqual(['a', 'b', 'c', 'a']);
  });
});
