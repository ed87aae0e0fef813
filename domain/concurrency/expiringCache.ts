/**
 * A cache of answers read from a store that another process may change: an answer is served for
 * at most `ttlMs` after it was asked for, so a change made elsewhere is seen within that time.
 * Two things keep a hot key's lookups off the request path:
 * - one lookup per key at a time: callers asking while one is under way share it (without this,
 *   every request of a busy user that arrives between expiry and the answer asks the store too);
 * - a key still asked for after `refreshAfterMs` is read again in the background while the answer
 *   it has is served, so it does not expire under a steady stream of requests.
 * `forget` is for changes made through this process: the matching answers are dropped at once, and
 * no lookup begun before it is kept or shared with a caller who asks after it.
 */
import { BoundedMap } from '../boundedMap.ts';

export interface ExpiringCacheOptions<V> {
  readonly now: () => number;
  /** How long an answer may be served after it was asked for. */
  readonly ttlMs: number;
  /** When a key still in use is read again in the background. Default: half of `ttlMs`. */
  readonly refreshAfterMs?: number;
  readonly maxEntries: number;
  /** Whether an answer may be kept (e.g. only found ones). Default: every answer. */
  readonly keep?: (value: V) => boolean;
}

export interface ExpiringCache<K, V> {
  /** The answer for `key`: cached, shared with a lookup under way, or `load`ed. */
  get(key: K, load: () => Promise<V>): Promise<V>;
  /** Drops the answers `matches` names; lookups under way are not kept. */
  forget(matches: (key: K, value: V) => boolean): void;
}

interface Entry<V> {
  readonly value: V;
  /** When the lookup that produced it was begun. */
  readonly askedAt: number;
}

interface Lookup<V> {
  readonly answer: Promise<V>;
  /** The `forget` count when it began: a later forget makes it unfit to share or keep. */
  readonly generation: number;
}

export const createExpiringCache = <K, V>(options: ExpiringCacheOptions<V>): ExpiringCache<K, V> => {
  const { now, ttlMs, keep } = options;
  const refreshAfterMs = Math.min(options.refreshAfterMs ?? ttlMs / 2, ttlMs);
  const entries = new BoundedMap<K, Entry<V>>(options.maxEntries);
  const underWay = new Map<K, Lookup<V>>();
  let generation = 0;

  const lookUp = (key: K, load: () => Promise<V>): Lookup<V> => {
    const askedAt = now();
    const begun = generation;
    const answer = load().then((value) => {
      if (begun !== generation) return value;
      // An answer not to keep still replaces what was kept: that is older.
      if (keep === undefined || keep(value)) entries.set(key, { value, askedAt });
      else entries.delete(key);
      return value;
    });
    const lookup = { answer, generation: begun };
    underWay.set(key, lookup);
    const done = (): void => {
      if (underWay.get(key) === lookup) underWay.delete(key);
    };
    answer.then(done, done);
    return lookup;
  };

  /** The lookup under way for `key` if it may still be shared, else a new one. */
  const shared = (key: K, load: () => Promise<V>): Lookup<V> => {
    const running = underWay.get(key);
    return running !== undefined && running.generation === generation ? running : lookUp(key, load);
  };

  return {
    get(key, load) {
      const entry = entries.get(key);
      const at = now();
      if (entry !== undefined && at < entry.askedAt + ttlMs) {
        if (at >= entry.askedAt + refreshAfterMs) {
          // A failed refresh leaves the answer to expire; the next caller after that asks again.
          shared(key, load).answer.catch(() => undefined);
        }
        return Promise.resolve(entry.value);
      }
      if (entry !== undefined) entries.delete(key);
      return shared(key, load).answer;
    },
    forget(matches) {
      generation += 1;
      for (const [key, entry] of entries) if (matches(key, entry.value)) entries.delete(key);
    },
  };
};
