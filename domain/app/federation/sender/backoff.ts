/**
 * How long a destination rests after failed transactions: the start delay, doubled per further
 * failure, up to the cap. Synapse starts at 10 minutes, which keeps a flapping server silent for
 * long; a shorter start (2 s by default) retries a server that restarts quickly almost at once,
 * while the doubling still spares one that stays down. A request from that server wakes it early.
 */
export interface BackoffSettings {
  readonly startMs: number;
  readonly maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { startMs: 2_000, maxMs: 10 * 60_000 };

/** The rest after `failures` consecutive failures (0 after none). */
export const backoffDelayMs = (failures: number, settings: BackoffSettings): number => {
  if (failures <= 0) return 0;
  // Past 2^40 the product exceeds any sensible cap; capping the exponent avoids Infinity.
  return Math.min(settings.maxMs, settings.startMs * 2 ** Math.min(failures - 1, 40));
};
