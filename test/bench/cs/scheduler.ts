/**
 * Open-loop load: request i is due at start + i/rate whatever happened to earlier requests, so a
 * slow server cannot slow the offered load down (no coordinated omission). A request that falls due
 * while `maxInFlight` are outstanding is skipped and counted rather than queued, which keeps memory
 * and sockets bounded when the server falls behind.
 */

export interface OpenLoopOptions {
  /** Requests per second, over all senders. */
  readonly rate: number;
  readonly durationSeconds: number;
  readonly maxInFlight: number;
  /** Starts request `index`; should settle within its own timeout. Rejections are counted, not thrown. */
  readonly send: (index: number, intendedAt: number) => Promise<void>;
  /** Milliseconds; defaults to performance.now. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly signal?: AbortSignal;
}

export interface OpenLoopResult {
  /** Requests the schedule called for: round(rate × duration). */
  readonly scheduled: number;
  readonly started: number;
  /** Due while maxInFlight were outstanding, so never sent. */
  readonly skipped: number;
  /** Sends whose promise rejected (the caller usually counts its own failures instead). */
  readonly rejected: number;
  /** From the first due time until the last request settled. */
  readonly elapsedMs: number;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const runOpenLoop = async (options: OpenLoopOptions): Promise<OpenLoopResult> => {
  const now = options.now ?? (() => performance.now());
  const sleep = options.sleep ?? realSleep;
  const interval = 1000 / options.rate;
  const scheduled = Math.max(0, Math.round(options.rate * options.durationSeconds));
  const inFlight = new Set<Promise<void>>();
  const start = now();
  let issued = 0;
  let started = 0;
  let skipped = 0;
  let rejected = 0;

  while (issued < scheduled && options.signal?.aborted !== true) {
    // Everything due by now goes out in this turn: timers fire late under load, the schedule does not slip.
    const due = Math.min(scheduled, Math.floor((now() - start) / interval) + 1);
    for (; issued < due; issued += 1) {
      if (inFlight.size >= options.maxInFlight) {
        skipped += 1;
        continue;
      }
      started += 1;
      const request: Promise<void> = options
        .send(issued, start + issued * interval)
        .catch(() => void (rejected += 1))
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
    if (issued < scheduled) await sleep(Math.max(0, start + issued * interval - now()));
  }
  await Promise.all(inFlight);
  return { scheduled, started, skipped, rejected, elapsedMs: now() - start };
};
