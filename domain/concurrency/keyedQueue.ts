/**
 * Per-key serial execution: tasks of one key run one after another in the order they were queued,
 * tasks of different keys run concurrently. A failed task does not stop the ones after it. The
 * room writer queues a room's commands by room id; projection runners queue a partition's batches.
 */
export interface KeyedQueue<K> {
  /** Runs `task` after every earlier task of `key`; resolves or rejects as the task does. */
  run<T>(key: K, task: () => Promise<T>): Promise<T>;
  /**
   * Runs `task` once it holds the turn of every one of `keys` (after every earlier task of each),
   * keeping them until it settles. It queues on all of them at once, so two such tasks never wait
   * on each other in a circle: on every key, each waits only for tasks queued before it.
   */
  runAll<T>(keys: readonly K[], task: () => Promise<T>): Promise<T>;
  /** Whether `key` has a task running or waiting. */
  has(key: K): boolean;
}

export const createKeyedQueue = <K>(): KeyedQueue<K> => {
  /** The settled tail of each key's chain; removed once the last task of the key settles. */
  const tails = new Map<K, Promise<void>>();
  const run = <T>(key: K, task: () => Promise<T>): Promise<T> => {
    const previous = tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(() => undefined, () => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return result;
  };
  return {
    run,
    async runAll<T>(keys: readonly K[], task: () => Promise<T>): Promise<T> {
      let release!: () => void;
      const released = new Promise<void>((resolve) => { release = resolve; });
      const turns = [...new Set(keys)].map((key) => new Promise<void>((entered) => {
        void run(key, () => {
          entered();
          return released;
        });
      }));
      try {
        await Promise.all(turns);
        return await task();
      } finally {
        release();
      }
    },
    has: (key) => tails.has(key),
  };
};
