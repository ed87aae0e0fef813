/**
 * Read-your-writes support: callers wait until a partition's applied position passes an offset.
 * Positions of partitions this process applies are pushed in after every commit; for partitions
 * another member of the group owns, the stored position is polled from the database.
 */
interface Waiter {
  readonly partition: number;
  readonly offset: number;
  readonly settle: (applied: boolean) => void;
  readonly fail: (error: unknown) => void;
}

export class PositionWaiters {
  readonly #positions = new Map<number, number>();
  readonly #waiters = new Set<Waiter>();
  readonly #readStored: (partition: number) => Promise<number | undefined>;
  readonly #pollMs: number;
  #ended: { error?: unknown } | undefined;

  constructor(readStored: (partition: number) => Promise<number | undefined>, pollMs = 50) {
    this.#readStored = readStored;
    this.#pollMs = pollMs;
  }

  /** The next offset to apply, for a partition this process owns. */
  position(partition: number): number | undefined {
    return this.#positions.get(partition);
  }

  owned(): ReadonlyMap<number, number> {
    return this.#positions;
  }

  update(partition: number, nextOffset: number): void {
    this.#positions.set(partition, nextOffset);
    for (const waiter of this.#waiters) {
      if (waiter.partition === partition && waiter.offset < nextOffset) waiter.settle(true);
    }
  }

  forget(partitions: readonly number[]): void {
    for (const partition of partitions) this.#positions.delete(partition);
  }

  /** Settles every pending wait: `false` on a clean stop, rejected when the projection failed. */
  end(error?: unknown): void {
    this.#ended = error === undefined ? {} : { error };
    for (const waiter of this.#waiters) {
      if (error === undefined) waiter.settle(false);
      else waiter.fail(error);
    }
  }

  /** Resolves true once `offset` of `partition` is applied, false after `timeoutMs` or on stop. */
  waitFor(partition: number, offset: number, timeoutMs: number): Promise<boolean> {
    const known = this.#positions.get(partition);
    if (known !== undefined && known > offset) return Promise.resolve(true);
    if (this.#ended) {
      return this.#ended.error === undefined ? Promise.resolve(false) : Promise.reject(this.#ended.error);
    }
    return new Promise<boolean>((resolve, reject) => {
      let poll: ReturnType<typeof setTimeout> | undefined;
      const finish = (): void => {
        this.#waiters.delete(waiter);
        clearTimeout(timer);
        clearTimeout(poll);
      };
      const waiter: Waiter = {
        partition, offset,
        settle: (applied) => { finish(); resolve(applied); },
        fail: (error) => { finish(); reject(error); },
      };
      const timer = setTimeout(() => waiter.settle(false), timeoutMs);
      this.#waiters.add(waiter);
      const check = async (): Promise<void> => {
        if (!this.#waiters.has(waiter)) return;
        if (!this.#positions.has(partition)) {
          try {
            const stored = await this.#readStored(partition);
            if (stored !== undefined && stored > offset) return waiter.settle(true);
          } catch (error) {
            return waiter.fail(error);
          }
        }
        if (this.#waiters.has(waiter)) poll = setTimeout(() => void check(), this.#pollMs);
      };
      void check();
    });
  }
}
