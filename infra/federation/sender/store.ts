/**
 * What the federation sender keeps in the database:
 * - its log position per partition (rows of projection_positions under its own name; a partition
 *   with no row starts at the log's end, so history from before the sender first ran is not sent);
 * - catch-up rows: per (destination, room) the latest event of ours not yet acknowledged
 *   (domain/app/federation/sender/catchUp.ts), written with the position in one transaction, so a
 *   checkpointed batch is never lost to a stop or a dead destination;
 * - durable EDUs, deleted once a destination acknowledged the transaction that carried them.
 */
import type { CatchUpMark } from '../../../domain/app/federation/sender/index.ts';
import type { Edu, JsonObject, RoomLog, SqlDatabase, SqlExecutor } from '../../../domain/index.ts';
import { POSITIONS_SCHEMA, senderPositions } from '../../../projections/runtime/index.ts';

export const FEDERATION_SENDER_NAME = 'federation_sender';
const VERSION = 1;

const SCHEMA = [
  POSITIONS_SCHEMA,
  `CREATE TABLE IF NOT EXISTS federation_catch_up (
     destination text NOT NULL,
     room_id text NOT NULL,
     event_id text NOT NULL,
     log_partition integer NOT NULL,
     log_offset bigint NOT NULL,
     PRIMARY KEY (destination, room_id)
   )`,
  `CREATE TABLE IF NOT EXISTS federation_durable_edus (
     id bigserial PRIMARY KEY,
     destination text NOT NULL,
     edu jsonb NOT NULL,
     queued_at bigint NOT NULL
   )`,
  'CREATE INDEX IF NOT EXISTS federation_durable_edus_destination ON federation_durable_edus (destination, id)',
];

export interface StoredEdu {
  readonly id: string;
  readonly edu: Edu;
}

export interface SenderStore {
  loadPositions(log: RoomLog, topic: string, partitions: readonly number[]): Promise<Map<number, number>>;
  /** Stores the batch's catch-up marks (keeping a later one already there) and the partition's position, atomically. */
  checkpoint(topic: string, partition: number, next: number, marks: readonly CatchUpMark[]): Promise<void>;
  /** The destination's catch-up rows, oldest event first. */
  catchUpRows(destination: string, limit: number): Promise<CatchUpMark[]>;
  /** Forgets rows a destination now has: per room, an event at `offset` or later was acknowledged. */
  delivered(destination: string, rooms: readonly { readonly roomId: string; readonly offset: number }[]): Promise<void>;
  /** Destinations with catch-up rows, and destinations with durable EDUs. */
  pendingDestinations(): Promise<{ catchUp: string[]; edus: string[] }>;
  queueDurableEdu(destinations: readonly string[], edu: Edu, now: number): Promise<void>;
  durableEdus(destination: string, limit: number): Promise<StoredEdu[]>;
  deleteDurableEdus(ids: readonly string[]): Promise<void>;
}

const upsertMarks = async (tx: SqlExecutor, marks: readonly CatchUpMark[]): Promise<void> => {
  if (marks.length === 0) return;
  await tx.query(
    `INSERT INTO federation_catch_up (destination, room_id, event_id, log_partition, log_offset)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::bigint[])
     ON CONFLICT (destination, room_id) DO UPDATE
       SET event_id = EXCLUDED.event_id, log_partition = EXCLUDED.log_partition, log_offset = EXCLUDED.log_offset
       WHERE federation_catch_up.log_offset < EXCLUDED.log_offset`,
    [marks.map((m) => m.destination), marks.map((m) => m.roomId), marks.map((m) => m.eventId),
      marks.map((m) => m.partition), marks.map((m) => m.offset)],
  );
};

/** Also what `npm run rebuild -- federation_sender` resets (infra/cli); catch-up rows and durable EDUs stay. */
export const FEDERATION_SENDER_POSITIONS = senderPositions(FEDERATION_SENDER_NAME, VERSION);
const positions = FEDERATION_SENDER_POSITIONS;

export const createSenderStore = async (db: SqlDatabase): Promise<SenderStore> => {
  for (const statement of SCHEMA) await db.query(statement);

  return {
    loadPositions: (log, topic, partitions) => positions.load(db, log, topic, partitions),

    async checkpoint(topic, partition, next, marks) {
      if (marks.length === 0) {
        await positions.save(db, topic, partition, next);
        return;
      }
      await db.transaction(async (tx) => {
        await upsertMarks(tx, marks);
        await positions.save(tx, topic, partition, next);
      });
    },

    async catchUpRows(destination, limit) {
      const { rows } = await db.query<{ room_id: string; event_id: string; log_partition: number; log_offset: number | string }>(
        `SELECT room_id, event_id, log_partition, log_offset FROM federation_catch_up
         WHERE destination = $1 ORDER BY log_offset, room_id LIMIT $2`,
        [destination, limit],
      );
      return rows.map((row) => ({
        destination, roomId: row.room_id, eventId: row.event_id, partition: Number(row.log_partition), offset: Number(row.log_offset),
      }));
    },

    async delivered(destination, rooms) {
      if (rooms.length === 0) return;
      await db.query(
        `DELETE FROM federation_catch_up c USING unnest($2::text[], $3::bigint[]) AS acked(room_id, log_offset)
         WHERE c.destination = $1 AND c.room_id = acked.room_id AND c.log_offset <= acked.log_offset`,
        [destination, rooms.map((room) => room.roomId), rooms.map((room) => room.offset)],
      );
    },

    async pendingDestinations() {
      const catchUp = await db.query<{ destination: string }>('SELECT DISTINCT destination FROM federation_catch_up');
      const edus = await db.query<{ destination: string }>('SELECT DISTINCT destination FROM federation_durable_edus');
      return { catchUp: catchUp.rows.map((row) => row.destination), edus: edus.rows.map((row) => row.destination) };
    },

    async queueDurableEdu(destinations, edu, now) {
      if (destinations.length === 0) return;
      await db.query(
        `INSERT INTO federation_durable_edus (destination, edu, queued_at)
         SELECT destination, $2::jsonb, $3 FROM unnest($1::text[]) AS d(destination)`,
        [[...destinations], JSON.stringify({ edu_type: edu.edu_type, content: edu.content }), now],
      );
    },

    async durableEdus(destination, limit) {
      if (limit <= 0) return [];
      const { rows } = await db.query<{ id: string | number; edu: JsonObject }>(
        'SELECT id, edu FROM federation_durable_edus WHERE destination = $1 ORDER BY id LIMIT $2',
        [destination, limit],
      );
      return rows.map((row) => ({ id: String(row.id), edu: { edu_type: String(row.edu.edu_type), content: row.edu.content as JsonObject } }));
    },

    async deleteDurableEdus(ids) {
      if (ids.length === 0) return;
      await db.query('DELETE FROM federation_durable_edus WHERE id = ANY($1::bigint[])', [[...ids]]);
    },
  };
};
