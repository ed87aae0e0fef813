/** Small helpers for the RoomLog contract suite. */
import type { ConsumerHandlers, LogBatch } from '../../domain/ports/index.ts';

/** Polls until `condition` holds (tests only: consumers run on their own schedule). */
export const waitFor = async (condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

export const roomKeys = (count: number): string[] =>
  Array.from({ length: count }, (_, i) => `!room${i}:example.org`);

interface SharedStore {
  /** Next offset to handle per partition, written with the handled records (as a projection would). */
  readonly positions: Map<number, number>;
  /** `partition/offset` of every handled record, across members. */
  readonly handled: string[];
}

/** A group member that records what it is given and, optionally, keeps positions in a shared store. */
export const collectingMember = (options: {
  starts: () => ReadonlyMap<number, number>;
  store?: SharedStore;
}) => {
  const batches: LogBatch[] = [];
  const assigned: number[] = [];
  const revoked: number[][] = [];
  const owned = new Set<number>();
  const next = new Map<number, number>();
  const handlers: ConsumerHandlers = {
    async onAssigned(_topic, partitions) {
      const starts = options.starts();
      for (const partition of partitions) {
        assigned.push(partition);
        owned.add(partition);
        next.set(partition, starts.get(partition) ?? 0);
      }
      return new Map(partitions.map((partition) => [partition, starts.get(partition) ?? 0]));
    },
    async onRevoked(_topic, partitions) {
      revoked.push([...partitions]);
      for (const partition of partitions) owned.delete(partition);
    },
    async onBatch(batch) {
      if (!owned.has(batch.partition)) throw new Error(`batch for partition ${batch.partition}, which is not assigned`);
      const expected = next.get(batch.partition);
      if (batch.entries[0]?.offset !== expected) {
        throw new Error(`partition ${batch.partition}: batch starts at ${batch.entries[0]?.offset}, expected ${expected}`);
      }
      batches.push(batch);
      const end = batch.entries[batch.entries.length - 1].offset + 1;
      next.set(batch.partition, end);
      if (options.store !== undefined) {
        for (const entry of batch.entries) options.store.handled.push(`${entry.partition}/${entry.offset}`);
        options.store.positions.set(batch.partition, end);
      }
    },
  };
  return {
    handlers,
    batches,
    assigned,
    revoked,
    owned,
    nextOffset: (partition: number): number | undefined => next.get(partition),
  };
};
