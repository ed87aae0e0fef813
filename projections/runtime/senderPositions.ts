/**
 * Log positions of a consumer that acts on the world rather than building a read model (the push
 * sender, the federation sender): rows of projection_positions under the consumer's name. A
 * partition with no row starts at the log's end, written down at once — history from before the
 * consumer first ran is never acted on. Saving never moves a position back.
 */
import type { RoomLog, SqlExecutor } from '../../domain/ports/index.ts';

export interface SenderPositions {
  load(db: SqlExecutor, log: Pick<RoomLog, 'endOffset'>, topic: string, partitions: readonly number[]): Promise<Map<number, number>>;
  save(db: SqlExecutor, topic: string, partition: number, next: number): Promise<unknown>;
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
    save: (db, topic, partition, next) => db.query(
      `INSERT INTO projection_positions (projection, topic, partition, next_offset, version) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (projection, topic, partition) DO UPDATE SET next_offset = GREATEST(projection_positions.next_offset, EXCLUDED.next_offset)`,
      [name, topic, partition, next, version],
    ),
  };
};
