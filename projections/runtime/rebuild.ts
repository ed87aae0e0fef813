/**
 * Rebuilding a read model: empty its tables, forget its positions, replay every partition from
 * offset 0 to the end offsets seen when the rebuild began. Run it while no consumer applies this
 * projection (startProjection calls it before subscribing; the CLI with the server stopped).
 *
 * A crash part-way is safe: the reset is one transaction and each replayed batch commits with its
 * position under the new version, so the next start simply resumes from the stored positions.
 */
import { ROOM_EVENTS_TOPIC } from '../../domain/index.ts';
import type { RoomLog, SqlDatabase } from '../../domain/ports/index.ts';
import { RecordFailure } from './failures.ts';
import { applyBatch, ensureSchema, resetProjection } from './positions.ts';
import type { Projection } from './projection.ts';
import { replayFromStart, type RebuildProgress } from './replay.ts';
import { createRoomLogContract } from './roomLogContract.ts';

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
  // A rebuild reads the room log from offset 0: every chain is checked whole (roomLogContract.ts).
  const contract = projection.topic === ROOM_EVENTS_TOPIC ? createRoomLogContract() : undefined;
  return replayFromStart({
    log: options.log,
    topic: projection.topic,
    name: projection.name,
    before: () => resetProjection(db, projection),
    apply: async (partition, entries) => {
      const violation = contract?.check(partition, entries);
      if (violation === undefined) return applyBatch(db, projection, partition, entries);
      // The records before the violation are applied, so a resumed rebuild stops right at it again.
      if (violation.index > 0) await applyBatch(db, projection, partition, entries.slice(0, violation.index));
      throw new RecordFailure(entries[violation.index]!, violation.error);
    },
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    ...(options.maxBatchSize === undefined ? {} : { maxBatchSize: options.maxBatchSize }),
  });
};
