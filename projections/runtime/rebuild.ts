/**
 * Rebuilding a read model: empty its tables, forget its positions, replay every partition from
 * offset 0 to the end offsets seen when the rebuild began. Run it while no consumer applies this
 * projection (startProjection calls it before subscribing; the CLI with the server stopped).
 *
 * A crash part-way is safe: the reset is one transaction and each replayed batch commits with its
 * position under the new version, so the next start simply resumes from the stored positions.
 */
import type { RoomLog, SqlDatabase } from '../../domain/ports/index.ts';
import { applyBatch, ensureSchema, resetProjection } from './positions.ts';
import type { Projection } from './projection.ts';

export interface RebuildProgress {
  /** Records replayed so far. */
  readonly done: number;
  /** Records to replay in all (the end offsets when the rebuild began). */
  readonly total: number;
}

export interface RebuildOptions {
  readonly projection: Projection;
  readonly log: RoomLog;
  readonly db: SqlDatabase;
  readonly onProgress?: (progress: RebuildProgress) => void;
  /** Entries read and applied per transaction (default 500). */
  readonly maxBatchSize?: number;
}

export const rebuildProjection = async (options: RebuildOptions): Promise<RebuildProgress> => {
  const { projection, log, db } = options;
  const batchSize = options.maxBatchSize ?? 500;
  await ensureSchema(db, projection);
  const partitions = await log.partitionCount(projection.topic);
  const ends: number[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    ends.push(await log.endOffset(projection.topic, partition));
  }
  const total = ends.reduce((sum, end) => sum + end, 0);
  await resetProjection(db, projection);
  let done = 0;
  options.onProgress?.({ done, total });
  for (let partition = 0; partition < partitions; partition++) {
    let next = 0;
    while (next < ends[partition]!) {
      const entries = await log.read(projection.topic, partition, next, Math.min(batchSize, ends[partition]! - next));
      if (entries.length === 0) {
        throw new Error(`rebuild ${projection.name}: partition ${partition} returned nothing at offset ${next} `
          + `before its end offset ${ends[partition]}`);
      }
      const upTo = entries.filter((entry) => entry.offset < ends[partition]!);
      const applied = await applyBatch(db, projection, partition, upTo);
      done += applied - next;
      next = applied;
      options.onProgress?.({ done, total });
    }
  }
  return { done, total };
};
