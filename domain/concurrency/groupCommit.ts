/**
 * Group commit: callers add items one by one; one flush is in flight at a time, and every item
 * added meanwhile goes out together in the next flush, instead of one round trip each. Each caller
 * gets its own item's result, in order. Used wherever many small writes or lookups share one slow
 * resource: Kafka produce requests, transaction-id lookups, a room's log appends, a partition's
 * locally appended entries.
 */
export interface GroupCommitOptions {
  /**
   * How the first flush after an idle period starts: at once (default), or later so that items
   * added in the same tick join it (e.g. `(start) => setImmediate(start)`), or in a queue shared
   * with other work (`start` resolves once every item queued meanwhile is flushed).
   */
  readonly schedule?: (start: () => Promise<void>) => void;
  /**
   * After a failed flush, fail the items queued meanwhile too instead of flushing them: for items
   * decided on top of the failed ones (a room's later events were built on the lost ones).
   */
  readonly failQueuedOnError?: boolean;
  /** Called after a failed flush, before its items are rejected. */
  readonly onError?: (error: unknown) => void;
}

export interface GroupCommit<I, R> {
  /** Queues `item` for the next flush; resolves with its result. */
  add(item: I): Promise<R>;
  /** A flush is in flight or items wait for one. */
  readonly busy: boolean;
}

interface Queued<I, R> {
  readonly item: I;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/** `flush` answers one result per item, in the items' order, or throws to fail them all. */
export const createGroupCommit = <I, R>(
  flush: (items: readonly I[]) => Promise<readonly R[]>,
  options: GroupCommitOptions = {},
): GroupCommit<I, R> => {
  let queue: Queued<I, R>[] = [];
  let running = false;

  const drain = async (): Promise<void> => {
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      let results: readonly R[];
      try {
        results = await flush(batch.map((queued) => queued.item));
        if (results.length !== batch.length) throw new Error(`group commit: ${results.length} results for ${batch.length} items`);
      } catch (error) {
        options.onError?.(error);
        const failed = options.failQueuedOnError === true ? [...batch, ...queue.splice(0)] : batch;
        for (const queued of failed) queued.reject(error);
        continue;
      }
      batch.forEach((queued, index) => queued.resolve(results[index]!));
    }
    running = false;
  };


  return {
    add: (item) => new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (running) return;
      running = true;
      if (options.schedule === undefined) void drain();
      else options.schedule(drain);
    }),
    get busy() {
      return running;
    },
  };
};
