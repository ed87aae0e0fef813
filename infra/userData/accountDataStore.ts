/** Account data (global and per room) as one stream; `room_id` '' marks global entries. */
import type { AccountDataEntry, AccountDataStore, JsonObject, SqlDatabase } from '../../domain/app/userData/index.ts';
import { currentPosition, lockStream, nextPosition, recordPosition } from './streams.ts';

interface Row {
  room_id: string;
  type: string;
  content: JsonObject;
  stream_pos: number;
}

const roomKey = (roomId: string | null): string => roomId ?? '';

export const createSqlAccountDataStore = (db: SqlDatabase): AccountDataStore => ({
  async get(userId, roomId, type) {
    const { rows } = await db.query<Row>(
      'SELECT content FROM account_data WHERE user_id = $1 AND room_id = $2 AND type = $3',
      [userId, roomKey(roomId), type],
    );
    return rows[0]?.content;
  },

  update(userId, roomId, type, change) {
    return db.transaction(async (tx) => {
      await lockStream(tx, 'account_data');
      const { rows } = await tx.query<Row>(
        'SELECT content FROM account_data WHERE user_id = $1 AND room_id = $2 AND type = $3',
        [userId, roomKey(roomId), type],
      );
      const content = change(rows[0]?.content);
      if (content === undefined) return undefined;
      const position = await nextPosition(tx, 'account_data');
      await tx.query(
        `INSERT INTO account_data (user_id, room_id, type, content, stream_pos) VALUES ($1, $2, $3, $4::jsonb, $5)
         ON CONFLICT (user_id, room_id, type) DO UPDATE SET content = EXCLUDED.content, stream_pos = EXCLUDED.stream_pos`,
        [userId, roomKey(roomId), type, JSON.stringify(content), position],
      );
      await recordPosition(tx, 'account_data', position);
      return { position, content };
    });
  },

  currentPosition: () => currentPosition(db, 'account_data'),

  async changesSince(userId, since, upTo) {
    const { rows } = await db.query<Row>(
      `SELECT room_id, type, content, stream_pos FROM account_data
       WHERE user_id = $1 AND stream_pos > $2 AND stream_pos <= $3 ORDER BY stream_pos`,
      [userId, since, upTo],
    );
    return rows.map((row): AccountDataEntry => ({
      roomId: row.room_id === '' ? null : row.room_id,
      type: row.type,
      content: row.content,
      position: Number(row.stream_pos),
    }));
  },
});
