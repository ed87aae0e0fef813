/** Read receipts per room; a user's newer receipt of a type (and thread) replaces the older one. */
import type { Receipt, ReceiptStore, SqlDatabase } from '../../domain/app/userData/index.ts';
import { currentPosition, writeToStream } from './streams.ts';

interface Row {
  room_id: string;
  receipt_type: string;
  user_id: string;
  thread_id: string;
  event_id: string;
  ts: number;
  stream_pos: number;
}

export const createSqlReceiptStore = (db: SqlDatabase): ReceiptStore => ({
  put(receipt) {
    return writeToStream(db, 'receipts', (position) => [{
      text: `INSERT INTO receipts (room_id, receipt_type, user_id, thread_id, event_id, ts, stream_pos)
             VALUES ($1, $2, $3, $4, $5, $6, ${position.next})
             ON CONFLICT (room_id, receipt_type, user_id, thread_id)
             DO UPDATE SET event_id = EXCLUDED.event_id, ts = EXCLUDED.ts, stream_pos = EXCLUDED.stream_pos`,
      values: [receipt.roomId, receipt.receiptType, receipt.userId, receipt.threadId ?? '', receipt.eventId, receipt.ts],
    }]).then(({ position }) => position);
  },

  currentPosition: () => currentPosition(db, 'receipts'),

  async changesSince(roomIds, since, upTo) {
    if (roomIds.length === 0) return [];
    const { rows } = await db.query<Row>(
      `SELECT room_id, receipt_type, user_id, thread_id, event_id, ts, stream_pos FROM receipts
       WHERE room_id = ANY($1::text[]) AND stream_pos > $2 AND stream_pos <= $3 ORDER BY stream_pos`,
      [roomIds, since, upTo],
    );
    return rows.map((row): Receipt => ({
      roomId: row.room_id,
      receiptType: row.receipt_type,
      userId: row.user_id,
      eventId: row.event_id,
      ...(row.thread_id === '' ? {} : { threadId: row.thread_id }),
      ts: Number(row.ts),
      position: Number(row.stream_pos),
    }));
  },
});
