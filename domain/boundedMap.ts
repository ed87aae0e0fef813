/**
 * A Map with a capacity, for every in-memory cache: setting a key moves it to the newest place, and
 * an entry beyond the capacity forgets the oldest one. `touch` reads and refreshes (least recently
 * used order); `get` reads without refreshing (least recently set order). Caches hold values chosen
 * by clients and remote servers, so none may grow without bound.
 */
export class BoundedMap<K, V> extends Map<K, V> {
  readonly #capacity: number;
  readonly #onEvict: ((key: K, value: V) => void) | undefined;

  constructor(capacity: number, onEvict?: (key: K, value: V) => void) {
    super();
    if (!(capacity >= 1)) throw new RangeError(`a BoundedMap holds at least one entry, not ${capacity}`);
    this.#capacity = capacity;
    this.#onEvict = onEvict;
  }

  get capacity(): number {
    return this.#capacity;
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    while (this.size > this.#capacity) {
      const [oldestKey, oldestValue] = this.entries().next().value as [K, V];
      super.delete(oldestKey);
      this.#onEvict?.(oldestKey, oldestValue);
    }
    return this;
  }

  /** The value of `key`, now the most recently used entry. */
  touch(key: K): V | undefined {
    if (!super.has(key)) return undefined;
    const value = super.get(key) as V;
    super.delete(key);
    super.set(key, value);
    return value;
  }
}
