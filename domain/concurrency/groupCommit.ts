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
  /**
   * Flushes in flight at once (default 1). With more, the next flush starts while the one before
   * it is still in flight, for a flush whose first part can overlap the previous one's last (a
   * room's content keys are stored while its previous records are being appended); each flush is
   * handed the one before it to order its last part after, and to fail with it.
   */
  readonly pipeline?: number;
  /**
   * How the next flush starts once one has answered: at once (default), or later so that what the
   * answer's own callers add on hearing it joins that flush (e.g. `(next) => process.nextTick(next)`,
   * after the promise continuations the answer set off). A single Kafka producer serving several
   * rooms, each appending once its previous append was acknowledged: taken at once, the flush after
   * an answer carries only what was already waiting, the rooms it answered wait a whole round trip
   * more, and they stay out of step with the others from then on.
   */
  readonly between?: (next: () => void) => void;
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

/**
 * `flush` answers one result per item, in the items' order, or throws to fail them all. `previous`
 * settles with the flush before it (already settled unless `pipeline` lets flushes overlap).
 */
export const createGroupCommit = <I, R>(
  flush: (items: readonly I[], previous: Promise<unknown>) => Promise<readonly R[]>,
  options: GroupCommitOptions = {},
): GroupCommit<I, R> => {
  const pipeline = options.pipeline ?? 1;
  if (!Number.isInteger(pipeline) || pipeline < 1) throw new RangeError(`group commit: pipeline ${pipeline}`);
  let queue: Queued<I, R>[] = [];
  let running = false;
  let inFlight = 0;
  let previous: Promise<unknown> = Promise.resolve();
  /** A flush answered and the next one waits for `between`: added items wait for it too. */
  let deferred = false;

  const flushBatch = async (batch: Queued<I, R>[]): Promise<void> => {
    const flight = (async () => flush(batch.map((queued) => queued.item), previous))();
    previous = flight;
    flight.catch(() => undefined);
    let results: readonly R[];
    try {
      results = await flight;
      if (results.length !== batch.length) throw new Error(`group commit: ${results.length} results for ${batch.length} items`);
    } catch (error) {
      options.onError?.(error);
      const failed = options.failQueuedOnError === true ? [...batch, ...queue.splice(0)] : batch;
      for (const queued of failed) queued.reject(error);
      return;
    }
    batch.forEach((queued, index) => queued.resolve(results[index]!));
  };

  /** Resolves the run in progress once nothing is queued or in flight; unset while none has started. */
  let drained: (() => void) | undefined;
  const next = (): void => {
    while (queue.length > 0 && inFlight < pipeline) {
      const batch = queue;
      queue = [];
      inFlight += 1;
      void flushBatch(batch).then(() => {
        inFlight -= 1;
        if (options.between === undefined) {
          next();
          return;
        }
        deferred = true;
        options.between(() => {
          deferred = false;
          next();
        });
      });
    }
    if (queue.length === 0 && inFlight === 0 && drained !== undefined) {
      const settle = drained;
      drained = undefined;
      running = false;
      settle();
    }
  };
  const drain = (): Promise<void> => new Promise<void>((resolve) => {
    drained = resolve;
    next();
  });

  return {
    add: (item) => new Promise<R>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (running) {
        // A started run takes it now if another flush may be in flight, else after the current one.
        if (drained !== undefined && !deferred) next();
        return;
      }
      running = true;
      if (options.schedule === undefined) void drain();
      else options.schedule(drain);
    }),
    get busy() {
      return running;
    },
  };
};
