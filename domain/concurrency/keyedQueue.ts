/**
 * Per-key serial execution: tasks of one key run one after another in the order they were queued,
 * tasks of different keys run concurrently. A failed task does not stop the ones after it. The
 * room writer queues a room's commands by room id; projection runners queue a partition's batches.
 */
export interface KeyedQueue<K> {
  /** Runs `task` after every earlier task of `key`; resolves or rejects as the task does. */
  run<T>(key: K, task: () => Promise<T>): Promise<T>;
  /** Whether `key` has a task running or waiting. */
  has(key: K): boolean;
}

export const createKeyedQueue = <K>(): KeyedQueue<K> => {
  /** The settled tail of each key's chain; removed once the last task of the key settles. */
  const tails = new Map<K, Promise<void>>();
  return {
    run<T>(key: K, task: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(task);
      const tail = result.then(() => undefined, () => undefined);
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
    has: (key) => tails.has(key),
  };
};
