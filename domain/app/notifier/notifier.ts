/**
 * Long-poll wake-ups for /sync: every stream write calls `notify` with the user ids and room ids it
 * concerns; a waiting /sync request calls `waitFor` with its own keys.
 *
 * This is a port with an in-process implementation. A multi-process deployment backs it with
 * PostgreSQL LISTEN/NOTIFY or a Kafka topic, so a write in one process wakes a request in another.
 */
export interface Notifier {
  /** A counter that grows with every `notify`; read it before computing a response. */
  current(): number;
  notify(keys: readonly string[]): void;
  /**
   * Resolves with the counter as soon as one of `keys` has been notified after `since` (at once
   * when that already happened), or when `timeoutMs` passes or `signal` aborts.
   */
  waitFor(keys: readonly string[], since: number, timeoutMs: number, signal?: AbortSignal): Promise<number>;
}

interface Waiter {
  readonly keys: readonly string[];
  readonly wake: () => void;
}

/** How many keys remember their last notification before the oldest are forgotten. */
const MAX_REMEMBERED_KEYS = 100_000;

export const createInProcessNotifier = (): Notifier => {
  let counter = 0;
  // Key → counter at its last notification; insertion order = age, for trimming.
  const lastNotified = new Map<string, number>();
  // The counter below which forgotten keys may have been notified.
  let forgottenUpTo = 0;
  const waitersByKey = new Map<string, Set<Waiter>>();

  const notifiedAfter = (keys: readonly string[], since: number): boolean =>
    forgottenUpTo > since || keys.some((key) => (lastNotified.get(key) ?? 0) > since);

  const notify = (keys: readonly string[]): void => {
    counter += 1;
    const woken = new Set<Waiter>();
    for (const key of keys) {
      lastNotified.delete(key);
      lastNotified.set(key, counter);
      for (const waiter of waitersByKey.get(key) ?? []) woken.add(waiter);
    }
    while (lastNotified.size > MAX_REMEMBERED_KEYS) {
      const [oldest, at] = lastNotified.entries().next().value as [string, number];
      lastNotified.delete(oldest);
      forgottenUpTo = Math.max(forgottenUpTo, at);
    }
    for (const waiter of woken) waiter.wake();
  };

  const waitFor = (keys: readonly string[], since: number, timeoutMs: number, signal?: AbortSignal): Promise<number> => {
    if (notifiedAfter(keys, since) || timeoutMs <= 0 || signal?.aborted === true) return Promise.resolve(counter);
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        for (const key of keys) {
          const set = waitersByKey.get(key);
          set?.delete(waiter);
          if (set?.size === 0) waitersByKey.delete(key);
        }
        resolve(counter);
      };
      const waiter: Waiter = { keys, wake: finish };
      const timer = setTimeout(finish, timeoutMs);
      signal?.addEventListener('abort', finish, { once: true });
      for (const key of keys) {
        let set = waitersByKey.get(key);
        if (set === undefined) waitersByKey.set(key, (set = new Set()));
        set.add(waiter);
      }
    });
  };

  return { current: () => counter, notify, waitFor };
};
