/**
 * Log positions of a consumer that acts on the world rather than building a read model (the push
 * sender, the federation sender): rows of projection_positions under the consumer's name. A
 * partition with no row starts at the log's end, written down at once — history from before the
 * consumer first ran is never acted on. Saving never moves a position back; `resetToEnd` (the
 * rebuild CLI, with the server stopped) does, to wherever the log ends.
 */
import type { RoomLog, SqlExecutor } from '../../domain/ports/index.ts';

export interface SenderPositions {
  load(db: SqlExecutor, log: Pick<RoomLog, 'endOffset'>, topic: string, partitions: readonly number[]): Promise<Map<number, number>>;
  save(db: SqlExecutor, topic: string, partition: number, next: number): Promise<unknown>;
  /**
   * What a sender's rebuild means: every partition's position set to the log's end, as at its very
   * first start, so no history is sent again (a rebuild from offset 0 would send it all to remote
   * servers, bridges and phones once more). Records the old positions had not reached are skipped
   * too; they are counted. `onProgress` hears of each partition set (records up to its end).
   */
  resetToEnd(db: SqlExecutor, log: Pick<RoomLog, 'endOffset' | 'partitionCount'>, topic: string,
    onProgress?: (progress: { done: number; total: number }) => void): Promise<SenderReset>;
}

export interface SenderReset {
  /** Records in the log (the sum of the end offsets). */
  readonly total: number;
  /** Records between the stored positions and the log's end, now never acted on. */
  readonly skipped: number;
}

export const senderPositions = (name: string, version: number): SenderPositions => {
  const read = async (db: SqlExecutor, topic: string, partitions: readonly number[]): Promise<Map<number, number>> => {
    const { rows } = await db.query<{ partition: number; next_offset: number | string }>(
      `SELECT partition, next_offset FROM projection_positions
       WHERE projection = $1 AND topic = $2 AND partition = ANY($3::integer[])`,
      [name, topic, [...partitions]],
    );
    return new Map(rows.map((row) => [Number(row.partition), Number(row.next_offset)]));
  };
  return {
    async load(db, log, topic, partitions) {
      const stored = await read(db, topic, partitions);
      const missing = partitions.filter((partition) => !stored.has(partition));
      if (missing.length === 0) return stored;
      for (const partition of missing) {
        await db.query(
          `INSERT INTO projection_positions (projection, topic, partition, next_offset, version) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (projection, topic, partition) DO NOTHING`,
          [name, topic, partition, await log.endOffset(topic, partition), version],
        );
      }
      return read(db, topic, partitions);
    },
    async resetToEnd(db, log, topic, onProgress) {
      const partitions = Array.from({ length: await log.partitionCount(topic) }, (_, partition) => partition);
      const ends = await Promise.all(partitions.map((partition) => log.endOffset(topic, partition)));
      const total = ends.reduce((sum, end) => sum + end, 0);
      const stored = await read(db, topic, partitions);
      let done = 0;
      let skipped = 0;
      onProgress?.({ done, total });
      for (const partition of partitions) {
        const end = ends[partition]!;
        skipped += Math.max(0, end - (stored.get(partition) ?? end));
        await db.query(
          `INSERT INTO projection_positions (projection, topic, partition, next_offset, version) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (projection, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset, version = EXCLUDED.version`,
          [name, topic, partition, end, version],
        );
        done += end;
        onProgress?.({ done, total });
      }
      return { total, skipped };
    },
    save: (db, topic, partition, next) => db.query(
      `INSERT INTO projection_positions (projection, topic, partition, next_offset, version) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (projection, topic, partition) DO UPDATE SET next_offset = GREATEST(projection_positions.next_offset, EXCLUDED.next_offset)`,
      [name, topic, partition, next, version],
    ),
  };
};
