/**
 * What the appservice sender keeps in the database (Synapse's application_services_txns and
 * application_services_state):
 * - its log position per partition (rows of projection_positions under its own name; a partition
 *   with no row starts at the log's end, so history from before the sender first ran is not sent);
 * - the queue: per bridge, the events it is interested in, written in the same transaction as the
 *   position that passed them, so none is lost or queued twice across restarts. Rows are ordered by
 *   `id` (the order they were queued, log order within a room);
 * - per bridge, the last transaction id used and the transaction in flight: its id marks the queue
 *   rows it carries, and its ephemeral and to-device data are stored with it, so a retry after a
 *   failure or a restart sends the same id with the same contents. Rows go, and the stream positions
 *   the transaction reached are stored, only once the bridge acknowledged it.
 */
import type { TransactionExtras } from '../../../domain/app/appservices/sender/index.ts';
import type { JsonObject, RoomLog, SqlDatabase, SqlExecutor } from '../../../domain/index.ts';
import { POSITIONS_SCHEMA, senderPositions } from '../../../projections/runtime/index.ts';
import { applySchema } from '../../postgres/index.ts';

export const APPSERVICE_SENDER_NAME = 'appservice_sender';
const VERSION = 1;

const SCHEMA = [
  POSITIONS_SCHEMA,
  `CREATE TABLE IF NOT EXISTS appservice_queue (
     id bigserial PRIMARY KEY,
     appservice_id text NOT NULL,
     room_id text NOT NULL,
     event_id text NOT NULL,
     log_partition integer NOT NULL,
     log_offset bigint NOT NULL,
     queued_at bigint NOT NULL,
     txn_id bigint
   )`,
  'CREATE INDEX IF NOT EXISTS appservice_queue_order ON appservice_queue (appservice_id, id)',
  `CREATE TABLE IF NOT EXISTS appservice_state (
     appservice_id text PRIMARY KEY,
     last_txn_id bigint NOT NULL DEFAULT 0,
     txn_id bigint,
     txn_extras jsonb,
     txn_streams jsonb,
     streams jsonb NOT NULL DEFAULT '{}'::jsonb
   )`,
];

/** An event queued for a bridge, where it sits in the room log. */
export interface QueuedEvent {
  readonly appserviceId: string;
  readonly roomId: string;
  readonly eventId: string;
  readonly partition: number;
  readonly offset: number;
}

/** Stream positions per kind of ephemeral data (receipts, presence, to_device). */
export type StreamPositions = Readonly<Record<string, number>>;

/** A transaction assigned to a bridge: its id, its events' rows, its extras and the streams it reaches. */
export interface StoredTransaction {
  readonly txnId: number;
  readonly events: readonly QueuedEvent[];
  readonly extras: TransactionExtras;
  readonly streams: StreamPositions;
}

export interface Backlog {
  readonly events: number;
  /** When the oldest unsent event was queued; undefined when none waits. */
  readonly oldestQueuedAt: number | undefined;
}

export interface AppserviceSenderStore {
  loadPositions(log: RoomLog, topic: string, partitions: readonly number[]): Promise<Map<number, number>>;
  /** Queues the batch's events and stores the partition's position, atomically. */
  checkpoint(topic: string, partition: number, next: number, queued: readonly QueuedEvent[], now: number): Promise<void>;
  /** Bridges with queued events or a transaction in flight (start-up). */
  pendingBridges(): Promise<string[]>;
  /** The bridge's stream positions as its last acknowledged transaction left them. */
  streams(appserviceId: string): Promise<StreamPositions>;
  /** The transaction in flight, if one was assigned and not yet acknowledged. */
  currentTransaction(appserviceId: string): Promise<StoredTransaction | undefined>;
  /**
   * Assigns the next transaction id to the oldest `limit` unassigned events and the extras, unless
   * there is nothing to send; answers what was assigned. `streams` are the positions reached once it
   * is acknowledged (at once when there is nothing to send).
   */
  assignTransaction(appserviceId: string, limit: number, extras: StoredTransaction['extras'], streams: StreamPositions): Promise<StoredTransaction | undefined>;
  /** The bridge acknowledged the transaction: its rows go, its stream positions stand. */
  delivered(appserviceId: string, txnId: number): Promise<void>;
  backlog(appserviceId: string): Promise<Backlog>;
}

/** Also what `npm run rebuild -- appservice_sender` resets (infra/cli); the queue and transactions in flight stay. */
export const APPSERVICE_SENDER_POSITIONS = senderPositions(APPSERVICE_SENDER_NAME, VERSION);
const positions = APPSERVICE_SENDER_POSITIONS;

type QueueRow = { room_id: string; event_id: string; log_partition: number; log_offset: number | string };
const queuedEvent = (appserviceId: string) => (row: QueueRow): QueuedEvent => ({
  appserviceId, roomId: row.room_id, eventId: row.event_id, partition: Number(row.log_partition), offset: Number(row.log_offset),
});

const numbers = (value: unknown): StreamPositions => {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
};

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : []);

const extrasOf = (value: unknown): TransactionExtras => {
  const object = (typeof value === 'object' && value !== null ? value : {}) as { ephemeral?: unknown; toDevice?: unknown; deviceLists?: unknown };
  const lists = (typeof object.deviceLists === 'object' && object.deviceLists !== null ? object.deviceLists : undefined) as
    { changed?: unknown; left?: unknown } | undefined;
  return {
    ephemeral: Array.isArray(object.ephemeral) ? object.ephemeral as JsonObject[] : [],
    toDevice: Array.isArray(object.toDevice) ? object.toDevice as JsonObject[] : [],
    ...(lists === undefined ? {} : { deviceLists: { changed: strings(lists.changed), left: strings(lists.left) } }),
  };
};

/** Whether the extras carry anything (an empty transaction is not sent). */
const carriesSomething = (extras: TransactionExtras): boolean =>
  extras.ephemeral.length + extras.toDevice.length + (extras.deviceLists?.changed.length ?? 0) + (extras.deviceLists?.left.length ?? 0) > 0;

/** The bridge's transaction in flight, if one was assigned and not yet acknowledged. */
const transactionInFlight = async (db: SqlExecutor, appserviceId: string): Promise<StoredTransaction | undefined> => {
  const state = await db.query<{ txn_id: number | string | null; txn_extras: unknown; txn_streams: unknown }>(
    'SELECT txn_id, txn_extras, txn_streams FROM appservice_state WHERE appservice_id = $1', [appserviceId],
  );
  const row = state.rows[0];
  if (row === undefined || row.txn_id === null) return undefined;
  const txnId = Number(row.txn_id);
  const { rows } = await db.query<QueueRow>(
    `SELECT room_id, event_id, log_partition, log_offset FROM appservice_queue
     WHERE appservice_id = $1 AND txn_id = $2 ORDER BY id`,
    [appserviceId, txnId],
  );
  return { txnId, events: rows.map(queuedEvent(appserviceId)), extras: extrasOf(row.txn_extras), streams: numbers(row.txn_streams) };
};

export const createAppserviceSenderStore = async (db: SqlDatabase): Promise<AppserviceSenderStore> => {
  await applySchema(db, APPSERVICE_SENDER_NAME, SCHEMA);

  return {
    loadPositions: (log, topic, partitions) => positions.load(db, log, topic, partitions),

    async checkpoint(topic, partition, next, queued, now) {
      if (queued.length === 0) {
        await positions.save(db, topic, partition, next);
        return;
      }
      await db.transaction(async (tx) => {
        // unnest keeps the array order, and ids are drawn in that order: the queue order is the log's.
        await tx.query(
          `INSERT INTO appservice_queue (appservice_id, room_id, event_id, log_partition, log_offset, queued_at)
           SELECT appservice_id, room_id, event_id, log_partition, log_offset, $6
           FROM unnest($1::text[], $2::text[], $3::text[], $4::integer[], $5::bigint[]) WITH ORDINALITY
             AS q(appservice_id, room_id, event_id, log_partition, log_offset, n)
           ORDER BY n`,
          [queued.map((q) => q.appserviceId), queued.map((q) => q.roomId), queued.map((q) => q.eventId),
            queued.map((q) => q.partition), queued.map((q) => q.offset), now],
        );
        await positions.save(tx, topic, partition, next);
      });
    },

    async pendingBridges() {
      const { rows } = await db.query<{ appservice_id: string }>(
        `SELECT DISTINCT appservice_id FROM appservice_queue
         UNION SELECT appservice_id FROM appservice_state WHERE txn_id IS NOT NULL`,
      );
      return rows.map((row) => row.appservice_id);
    },

    async streams(appserviceId) {
      const { rows } = await db.query<{ streams: unknown }>('SELECT streams FROM appservice_state WHERE appservice_id = $1', [appserviceId]);
      return numbers(rows[0]?.streams);
    },

    currentTransaction: (appserviceId) => transactionInFlight(db, appserviceId),

    assignTransaction: (appserviceId, limit, extras, streams) => db.transaction(async (tx) => {
      await tx.query('INSERT INTO appservice_state (appservice_id) VALUES ($1) ON CONFLICT (appservice_id) DO NOTHING', [appserviceId]);
      // Locks the bridge's state row: two assignments for one bridge cannot interleave.
      const state = await tx.query<{ last_txn_id: number | string; txn_id: number | string | null }>(
        'SELECT last_txn_id, txn_id FROM appservice_state WHERE appservice_id = $1 FOR UPDATE', [appserviceId],
      );
      // Assigned meanwhile (by another process's worker): that one is the bridge's next transaction.
      if (state.rows[0]!.txn_id !== null) return transactionInFlight(tx, appserviceId);
      const { rows } = await tx.query<QueueRow & { id: number | string }>(
        `SELECT id, room_id, event_id, log_partition, log_offset FROM appservice_queue
         WHERE appservice_id = $1 AND txn_id IS NULL ORDER BY id LIMIT $2`,
        [appserviceId, limit],
      );
      if (rows.length === 0 && !carriesSomething(extras)) {
        // Nothing up to these positions was for the bridge: they stand as if acknowledged.
        await tx.query('UPDATE appservice_state SET streams = streams || $2::jsonb WHERE appservice_id = $1', [appserviceId, JSON.stringify(streams)]);
        return undefined;
      }
      const txnId = Number(state.rows[0]!.last_txn_id) + 1;
      await tx.query('UPDATE appservice_queue SET txn_id = $2 WHERE id = ANY($1::bigint[])', [rows.map((row) => row.id), txnId]);
      await tx.query(
        'UPDATE appservice_state SET last_txn_id = $2, txn_id = $2, txn_extras = $3::jsonb, txn_streams = $4::jsonb WHERE appservice_id = $1',
        [appserviceId, txnId, JSON.stringify(extras), JSON.stringify(streams)],
      );
      return { txnId, events: rows.map(queuedEvent(appserviceId)), extras, streams };
    }),

    delivered: (appserviceId, txnId) => db.transaction(async (tx) => {
      await tx.query('DELETE FROM appservice_queue WHERE appservice_id = $1 AND txn_id = $2', [appserviceId, txnId]);
      await tx.query(
        `UPDATE appservice_state SET streams = streams || COALESCE(txn_streams, '{}'::jsonb), txn_id = NULL, txn_extras = NULL, txn_streams = NULL
         WHERE appservice_id = $1 AND txn_id = $2`,
        [appserviceId, txnId],
      );
    }),

    async backlog(appserviceId) {
      const { rows } = await db.query<{ n: number | string; oldest: number | string | null }>(
        'SELECT count(*) AS n, min(queued_at) AS oldest FROM appservice_queue WHERE appservice_id = $1', [appserviceId],
      );
      const row = rows[0];
      return { events: Number(row?.n ?? 0), oldestQueuedAt: row?.oldest === null || row?.oldest === undefined ? undefined : Number(row.oldest) };
    },
  };
};
