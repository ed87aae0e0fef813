/** Account data (global and per room) as one stream; `room_id` '' marks global entries. */
import type { AccountDataEntry, AccountDataStore, JsonObject, SqlDatabase } from '../../domain/app/userData/index.ts';
import { currentPosition, writeToStream } from './streams.ts';

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

  // Read, change, then write only if nobody wrote the entry meanwhile (its position is the
  // version), else again: the stream's lock is held for the write's statements alone.
  async update(userId, roomId, type, change) {
    for (;;) {
      const { rows } = await db.query<Pick<Row, 'content' | 'stream_pos'>>(
        'SELECT content, stream_pos FROM account_data WHERE user_id = $1 AND room_id = $2 AND type = $3',
        [userId, roomKey(roomId), type],
      );
      const read = rows[0];
      const content = change(read?.content);
      if (content === undefined) return undefined;
      const { position, results } = await writeToStream(db, 'account_data', (positions) => [{
        text: `INSERT INTO account_data (user_id, room_id, type, content, stream_pos) VALUES ($1, $2, $3, $4::jsonb, ${positions.next})
               ON CONFLICT (user_id, room_id, type) DO UPDATE SET content = EXCLUDED.content, stream_pos = EXCLUDED.stream_pos
               WHERE account_data.stream_pos = $5`,
        values: [userId, roomKey(roomId), type, JSON.stringify(content), read === undefined ? null : Number(read.stream_pos)],
      }]);
      if (results[0]!.rowCount > 0) return { position, content };
    }
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
