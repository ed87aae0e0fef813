/**
 * Where the push sender has got to in each partition: rows of projection_positions under its own
 * name, written after a batch was pushed (at-least-once: a crash between the pushes and the write
 * pushes the batch again). A partition with no row starts at the log's end, written down at once:
 * history from before the sender first ran is never pushed.
 */
import type { RoomLog, SqlDatabase } from '../../domain/ports/index.ts';
import { POSITIONS_SCHEMA } from '../../projections/runtime/index.ts';

export const PUSH_SENDER_NAME = 'push_gateway';
const VERSION = 1;

export const ensurePushPositions = async (db: SqlDatabase): Promise<void> => {
  await db.query(POSITIONS_SCHEMA);
};

export const loadPushPositions = async (
  db: SqlDatabase, log: RoomLog, topic: string, partitions: readonly number[],
): Promise<Map<number, number>> => {
  const read = async (): Promise<Map<number, number>> => {
    const { rows } = await db.query<{ partition: number; next_offset: number | string }>(
      `SELECT partition, next_offset FROM projection_positions
       WHERE projection = $1 AND topic = $2 AND partition = ANY($3::integer[])`,
      [PUSH_SENDER_NAME, topic, [...partitions]],
    );
    return new Map(rows.map((row) => [Number(row.partition), Number(row.next_offset)]));
  };
  const stored = await read();
  const missing = partitions.filter((partition) => !stored.has(partition));
  if (missing.length === 0) return stored;
  for (const partition of missing) {
    await db.query(
      `INSERT INTO projection_positions (projection, topic, partition, next_offset, version) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (projection, topic, partition) DO NOTHING`,
      [PUSH_SENDER_NAME, topic, partition, await log.endOffset(topic, partition), VERSION],
    );
  }
  return read();
};

export const savePushPosition = async (db: SqlDatabase, topic: string, partition: number, next: number): Promise<void> => {
  await db.query(
    `INSERT INTO projection_positions (projection, topic, partition, next_offset, version) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (projection, topic, partition) DO UPDATE SET next_offset = GREATEST(projection_positions.next_offset, EXCLUDED.next_offset)`,
    [PUSH_SENDER_NAME, topic, partition, next, VERSION],
  );
};
