/**
 * Downloads waiting for an asynchronous upload's content (`timeout_ms`). One process writes a
 * namespace (docs/ARCHITECTURE.md), so the upload that completes a media id runs where its waiters
 * are; a waiter still re-reads the metadata when its time is up, never trusting the wake-up alone.
 */
export interface UploadWait {
  /** Resolves when the media id is woken or after `ms`, whichever comes first. */
  until(ms: number): Promise<void>;
  cancel(): void;
}

export interface UploadWaiters {
  /** Registers before the caller reads the metadata, so a completion in between is not missed. */
  waitFor(serverName: string, mediaId: string): UploadWait;
  wake(serverName: string, mediaId: string): void;
}

export const createUploadWaiters = (): UploadWaiters => {
  const waiting = new Map<string, Set<() => void>>();
  return {
    waitFor(serverName, mediaId) {
      const key = `${serverName}/${mediaId}`;
      let woken = false;
      let resolveWait: (() => void) | undefined;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const wake = () => {
        woken = true;
        resolveWait?.();
      };
      const set = waiting.get(key) ?? new Set();
      set.add(wake);
      waiting.set(key, set);
      const cancel = () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0 && waiting.get(key) === set) waiting.delete(key);
      };
      return {
        until: (ms) => new Promise<void>((resolve) => {
          if (woken) return resolve();
          resolveWait = resolve;
          timer = setTimeout(resolve, Math.max(ms, 0));
        }),
        cancel,
      };
    },
    wake(serverName, mediaId) {
      for (const wake of waiting.get(`${serverName}/${mediaId}`) ?? []) wake();
    },
  };
};
