/**
 * Requests that depend on a consumer answer at once once it has stopped on a poison record,
 * instead of hanging until their timeouts: writes whose read-your-writes wait could never end are
 * refused before they reach the log, and long-polls waiting for the consumer's wake-ups end with
 * the stop's 503 (ConsumerStoppedError).
 */
import { delegatingLog, type RoomLog } from '../../domain/ports/index.ts';
import type { Supervisor } from './supervisor.ts';

/** `log`, whose appends to `topic` are refused while `consumer` is stopped (nothing is appended). */
export const refusingAppendsWhileStopped = (log: RoomLog, supervisor: Supervisor, consumer: string, topic: string): RoomLog =>
  delegatingLog(log, {
    // Judged when the append is handed over, not once the one before it is written (awaiting
    // `after` here would hold back what the log prepares meanwhile): one that passed goes out like
    // any append made just before a stop, and its read-your-writes wait ends with the stop's error.
    append: async (appendTo, records, options) => {
      const stopped = appendTo === topic ? supervisor.stopped(consumer) : undefined;
      if (stopped !== undefined) throw stopped;
      return log.append(appendTo, records, options);
    },
  });

/**
 * Runs `wait` (given an abort signal that also fires when `consumer` stops) and rejects with the
 * stop's error as soon as the consumer stops, or at once when it already has.
 */
export const waitWhileRunning = async <T>(
  supervisor: Supervisor, consumer: string, signal: AbortSignal | undefined, wait: (signal: AbortSignal) => Promise<T>,
): Promise<T> => {
  const already = supervisor.stopped(consumer);
  if (already !== undefined) throw already;
  const abort = new AbortController();
  const forward = (): void => abort.abort();
  signal?.addEventListener('abort', forward, { once: true });
  if (signal?.aborted === true) abort.abort();
  let unsubscribe: () => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => {
    unsubscribe = supervisor.onStopped(consumer, (error) => {
      // Rejected before the wait is aborted: an aborted wait resolves, and the stop must win the race.
      reject(error);
      abort.abort();
    });
  });
  stopped.catch(() => undefined);
  try {
    return await Promise.race([wait(abort.signal), stopped]);
  } finally {
    unsubscribe();
    signal?.removeEventListener('abort', forward);
  }
};
