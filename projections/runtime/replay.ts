/**
 * Replays a topic from offset 0 to the end offsets seen when the replay began, one partition at a
 * time, handing each batch to `apply` — the shared loop of every rebuild, whatever the store.
 */
import type { LogEntry, RoomLog } from '../../domain/ports/index.ts';

export interface RebuildProgress {
  /** Records replayed so far. */
  readonly done: number;
  /** Records to replay in all (the end offsets when the rebuild began). */
  readonly total: number;
}

export interface ReplayOptions {
  readonly log: RoomLog;
  readonly topic: string;
  /** Names the replay in errors. */
  readonly name: string;
  /** Applies a batch of one partition; resolves with the partition's next offset afterwards. */
  readonly apply: (partition: number, entries: readonly LogEntry[]) => Promise<number>;
  /** Runs once the end offsets are known, before the first batch (e.g. emptying tables). */
  readonly before?: () => Promise<void>;
  readonly onProgress?: (progress: RebuildProgress) => void;
  readonly maxBatchSize?: number;
}

export const replayFromStart = async (options: ReplayOptions): Promise<RebuildProgress> => {
  const { log, topic } = options;
  const batchSize = options.maxBatchSize ?? 500;
  const partitions = await log.partitionCount(topic);
  const ends: number[] = [];
  for (let partition = 0; partition < partitions; partition++) ends.push(await log.endOffset(topic, partition));
  const total = ends.reduce((sum, end) => sum + end, 0);
  await options.before?.();
  let done = 0;
  options.onProgress?.({ done, total });
  for (let partition = 0; partition < partitions; partition++) {
    const end = ends[partition]!;
    let next = 0;
    while (next < end) {
      const entries = await log.read(topic, partition, next, Math.min(batchSize, end - next));
      if (entries.length === 0) {
        throw new Error(`rebuild ${options.name}: partition ${partition} returned nothing at offset ${next} before its end offset ${end}`);
      }
      const applied = await options.apply(partition, entries.filter((entry) => entry.offset < end));
      done += applied - next;
      next = applied;
      options.onProgress?.({ done, total });
    }
  }
  return { done, total };
};
