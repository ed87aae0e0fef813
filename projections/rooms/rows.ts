/** Reading room_events rows into StoredEvent, with the redaction and prev_content they cite. */
import { isJsonObject, type JsonObject, type Pdu, type SqlExecutor } from '../../domain/index.ts';
import type { StoredEvent } from '../../domain/app/rooms/index.ts';

export const EVENT_COLUMNS = `event_id, room_id, room_version, log_partition, log_offset, type, state_key, sender,
  origin_server_ts, pdu, pdu_exact, redacted_because, replaces_state, local_user_id, local_device_id, local_txn_id`;

export interface EventRow {
  event_id: string;
  room_id: string;
  room_version: string;
  log_partition: number;
  log_offset: number | string;
  type: string;
  state_key: string | null;
  sender: string;
  origin_server_ts: number | string;
  pdu: Pdu | string;
  /** The exact JSON when `pdu` could not hold it (U+0000 in a string; projection.ts). */
  pdu_exact?: string | null;
  redacted_because: string | null;
  replaces_state: string | null;
  local_user_id: string | null;
  local_device_id: string | null;
  local_txn_id: string | null;
  /** Present when the read probed for bundled children in the same statement (relationQueries.ts `hasChildrenColumn`). */
  has_children?: boolean;
}

const parsePdu = (value: Pdu | string): Pdu => (typeof value === 'string' ? (JSON.parse(value) as Pdu) : value);
const pduOf = (row: Pick<EventRow, 'pdu' | 'pdu_exact'>): Pdu =>
  typeof row.pdu_exact === 'string' ? (JSON.parse(row.pdu_exact) as Pdu) : parsePdu(row.pdu);

const toStored = (row: EventRow, redactedBecause: StoredEvent | null, prevContent: JsonObject | null): StoredEvent => ({
  eventId: row.event_id,
  roomId: row.room_id,
  roomVersion: row.room_version,
  partition: Number(row.log_partition),
  offset: Number(row.log_offset),
  type: row.type,
  stateKey: row.state_key,
  sender: row.sender,
  originServerTs: Number(row.origin_server_ts),
  pdu: pduOf(row),
  redactedBecause,
  local: row.local_user_id === null ? null : { userId: row.local_user_id, deviceId: row.local_device_id, txnId: row.local_txn_id },
  replacesState: row.replaces_state,
  prevContent,
  ...(row.has_children === undefined ? {} : { hasChildren: row.has_children }),
});

/** Loads rows by event id (no hydration). */
const rowsById = async (db: SqlExecutor, ids: readonly string[]): Promise<Map<string, EventRow>> => {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM room_events WHERE event_id = ANY($1::text[])`, [[...ids]]);
  return new Map(rows.map((row) => [row.event_id, row]));
};

/** Turns rows into StoredEvents, fetching the redaction events and replaced state they cite. */
export const hydrate = async (db: SqlExecutor, rows: readonly EventRow[]): Promise<StoredEvent[]> => {
  const cited = new Set<string>();
  for (const row of rows) {
    if (row.redacted_because !== null) cited.add(row.redacted_because);
    if (row.replaces_state !== null) cited.add(row.replaces_state);
  }
  const related = await rowsById(db, [...cited]);
  return rows.map((row) => {
    const because = row.redacted_because === null ? undefined : related.get(row.redacted_because);
    const replaced = row.replaces_state === null ? undefined : related.get(row.replaces_state);
    const prevContent = replaced === undefined ? null : pduOf(replaced).content;
    return toStored(row, because === undefined ? null : toStored(because, null, null), isJsonObject(prevContent) ? prevContent : null);
  });
};
