/**
 * Transaction-id lookups (client-server-api § Transaction identifiers), batched: every send with a
 * new transaction id asks whether the device already used it. Under load hundreds of those arrive
 * at once; one statement answers all that arrived in a tick (or while the previous one ran) instead of each taking a connection from the
 * pool that /sync reads also need.
 */
import { createGroupCommit, type LocalOrigin, type SqlExecutor } from '../../domain/index.ts';

/** Answers the first event a device sent in a room under a transaction id, if any. */
export type TransactionLookup = (roomId: string, origin: LocalOrigin) => Promise<string | undefined>;

export const createTransactionLookup = (db: SqlExecutor): TransactionLookup => {
  const lookups = createGroupCommit(async (batch: readonly { roomId: string; origin: LocalOrigin }[]) => {
    const { rows } = await db.query<{ i: number | string; event_id: string }>(
      `SELECT q.i, (SELECT e.event_id FROM room_events e
                    WHERE e.room_id = q.room_id AND e.local_user_id = q.user_id
                      AND e.local_device_id IS NOT DISTINCT FROM q.device_id AND e.local_txn_id = q.txn_id
                    ORDER BY e.log_offset LIMIT 1) AS event_id
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS q(room_id, user_id, device_id, txn_id, i)`,
      [batch.map((l) => l.roomId), batch.map((l) => l.origin.userId), batch.map((l) => l.origin.deviceId),
        batch.map((l) => l.origin.txnId)]);
    const found = new Map(rows.map((row) => [Number(row.i), row.event_id ?? undefined]));
    return batch.map((_lookup, index) => found.get(index + 1));
  }, { schedule: (start) => setImmediate(start) });
  return (roomId, origin) => lookups.add({ roomId, origin });
};

/**
 * Every transaction id a device used in a room, if there are at most `limit` (one statement, read
 * when the device first sends after its room was loaded). Without an ORDER BY the statement stops
 * after `limit + 1` rows: more than `limit` only says the answer is incomplete.
 */
export const transactionsOfDevice = async (
  db: SqlExecutor, roomId: string, userId: string, deviceId: string | null, limit: number,
): Promise<{ byTxnId: ReadonlyMap<string, string>; complete: boolean }> => {
  const { rows } = await db.query<{ local_txn_id: string; event_id: string; log_offset: number | string }>(
    `SELECT local_txn_id, event_id, log_offset FROM room_events
     WHERE room_id = $1 AND local_user_id = $2 AND local_device_id IS NOT DISTINCT FROM $3 AND local_txn_id IS NOT NULL
     LIMIT $4`,
    [roomId, userId, deviceId, limit + 1]);
  if (rows.length > limit) return { byTxnId: new Map(), complete: false };
  // An id used twice (sent again after it was forgotten) answers its first event.
  const byTxnId = new Map<string, string>();
  for (const row of [...rows].sort((a, b) => Number(a.log_offset) - Number(b.log_offset))) {
    if (!byTxnId.has(row.local_txn_id)) byTxnId.set(row.local_txn_id, row.event_id);
  }
  return { byTxnId, complete: true };
};
