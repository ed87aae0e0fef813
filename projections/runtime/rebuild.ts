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
import { replayFromStart, type RebuildProgress } from './replay.ts';

export type { RebuildProgress };

export interface RebuildOptions {
  readonly projection: Projection;
  readonly log: RoomLog;
  readonly db: SqlDatabase;
  readonly onProgress?: (progress: RebuildProgress) => void;
  /** Entries read and applied per transaction (default 500). */
  readonly maxBatchSize?: number;
}

export const rebuildProjection = async (options: RebuildOptions): Promise<RebuildProgress> => {
  const { projection, db } = options;
  await ensureSchema(db, projection);
  return replayFromStart({
    log: options.log,
    topic: projection.topic,
    name: projection.name,
    before: () => resetProjection(db, projection),
    apply: (partition, entries) => applyBatch(db, projection, partition, entries),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
  });
};
