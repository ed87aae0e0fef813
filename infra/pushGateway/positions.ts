/**
 * Where the push sender has got to in each partition: rows of projection_positions under its own
 * name, written after a batch was pushed (at-least-once: a crash between the pushes and the write
 * pushes the batch again). A partition with no row starts at the log's end, written down at once:
 * history from before the sender first ran is never pushed.
 */
import type { RoomLog, SqlDatabase } from '../../domain/ports/index.ts';
import { POSITIONS_SCHEMA, senderPositions } from '../../projections/runtime/index.ts';

export const PUSH_SENDER_NAME = 'push_gateway';
const VERSION = 1;

export const ensurePushPositions = async (db: SqlDatabase): Promise<void> => {
  await db.query(POSITIONS_SCHEMA);
};

/** Also what `npm run rebuild -- push` resets (infra/cli). */
export const PUSH_SENDER_POSITIONS = senderPositions(PUSH_SENDER_NAME, VERSION);
const positions = PUSH_SENDER_POSITIONS;

export const loadPushPositions = (db: SqlDatabase, log: RoomLog, topic: string, partitions: readonly number[]): Promise<Map<number, number>> =>
  positions.load(db, log, topic, partitions);

export const savePushPosition = async (db: SqlDatabase, topic: string, partition: number, next: number): Promise<void> => {
  await positions.save(db, topic, partition, next);
};
