/**
 * Coalesces the batches of a ClickHouse projection's partitions into few, large INSERTs. ClickHouse
 * pays per INSERT (a part per table and month partition, and every materialized view run over the
 * block), so a few hundred rows per INSERT cap ingest at about a thousand rows a second; tens of
 * thousands per INSERT do not.
 *
 * Each partition's apply waits for the flush that holds its batch, so durability and order per
 * partition are as before, and memory is bounded by what the waiting partitions delivered. A flush
 * starts once `maxRows` rows wait, or `lingerMs` after the oldest waiting batch arrived (the other
 * partitions' batches of the same fetch join it meanwhile), and never while another runs.
 */
export interface ClickHouseBatchLimits {
  /** A flush takes whole batches up to this many rows (a larger batch goes alone). */
  readonly maxRows: number;
  /** How long the oldest waiting batch waits for others: what it adds to a live counter's delay. */
  readonly lingerMs: number;
}

/**
 * Two seconds: each INSERT costs ClickHouse tens of milliseconds of system time whatever its rows
 * (a part per table and rollup view, its files written and merged later). Flushing every half
 * second kept 18.16 at 15–20 % of a core at 500 messages/s, on the host the homeserver runs on;
 * every two seconds, about a third of that. Analysts and the live counters (polled every 2 s) see
 * an event a second or two later.
 */
export const DEFAULT_CLICKHOUSE_BATCH_LIMITS: ClickHouseBatchLimits = { maxRows: 50_000, lingerMs: 2_000 };

export interface FlushQueue<T> {
  /** Resolves once a flush holding `item` succeeded; rejects with the error of the flush it was alone in. */
  add(item: T, rows: number): Promise<void>;
}

interface Waiting<T> {
  readonly item: T;
  readonly rows: number;
  readonly since: number;
  resolve(): void;
  reject(error: unknown): void;
}

export const createFlushQueue = <T>(
  limits: ClickHouseBatchLimits,
  flush: (items: readonly T[]) => Promise<void>,
  now: () => number = () => performance.now(),
): FlushQueue<T> => {
  if (!Number.isInteger(limits.maxRows) || limits.maxRows < 1) throw new RangeError(`invalid maxRows ${limits.maxRows}`);
  if (!Number.isFinite(limits.lingerMs) || limits.lingerMs < 0) throw new RangeError(`invalid lingerMs ${limits.lingerMs}`);
  const waiting: Waiting<T>[] = [];
  let waitingRows = 0;
  let flushing = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const settle = async (taken: readonly Waiting<T>[]): Promise<void> => {
    try {
      await flush(taken.map((w) => w.item));
      for (const w of taken) w.resolve();
    } catch (error) {
      if (taken.length === 1) {
        taken[0]!.reject(error);
        return;
      }
      // One partition's bad batch must not fail the others': each goes again alone, so a failure
      // is pinned to its own batch (and the consumer pins it to its record).
      for (const w of taken) {
        try {
          await flush([w.item]);
          w.resolve();
        } catch (alone) {
          w.reject(alone);
        }
      }
    }
  };

  const start = (): void => {
    const taken: Waiting<T>[] = [];
    let rows = 0;
    while (waiting.length > 0 && (taken.length === 0 || rows + waiting[0]!.rows <= limits.maxRows)) {
      const next = waiting.shift()!;
      rows += next.rows;
      taken.push(next);
    }
    waitingRows -= rows;
    flushing = true;
    void settle(taken).finally(() => {
      flushing = false;
      schedule();
    });
  };

  const schedule = (): void => {
    if (flushing || waiting.length === 0) return;
    const wait = waitingRows >= limits.maxRows ? 0 : Math.max(0, waiting[0]!.since + limits.lingerMs - now());
    if (wait === 0) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      start();
    } else {
      timer ??= setTimeout(() => {
        timer = undefined;
        schedule();
      }, wait);
    }
  };

  return {
    add: (item, rows) => new Promise<void>((resolve, reject) => {
      waiting.push({ item, rows, since: now(), resolve, reject });
      waitingRows += rows;
      schedule();
    }),
  };
};
