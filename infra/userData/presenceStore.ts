/** Presence (client-server-api § Presence): the latest state per user, as a stream. */
import type { PresenceState, PresenceStore, SqlDatabase } from '../../domain/app/userData/index.ts';
import { currentPosition, writeToStream } from './streams.ts';

interface Row {
  user_id: string;
  presence: PresenceState['presence'];
  status_msg: string | null;
  last_active_ts: number;
  stream_pos: number;
}

const fromRow = (row: Row): PresenceState => ({
  userId: row.user_id,
  presence: row.presence,
  ...(row.status_msg === null ? {} : { statusMsg: row.status_msg }),
  lastActiveTs: Number(row.last_active_ts),
  position: Number(row.stream_pos),
});

export const createSqlPresenceStore = (db: SqlDatabase): PresenceStore => ({
  async get(userId) {
    const { rows } = await db.query<Row>('SELECT * FROM presence WHERE user_id = $1', [userId]);
    return rows[0] === undefined ? undefined : fromRow(rows[0]);
  },

  set(state) {
    return writeToStream(db, 'presence', (position) => [{
      text: `INSERT INTO presence (user_id, presence, status_msg, last_active_ts, stream_pos) VALUES ($1, $2, $3, $4, ${position.next})
             ON CONFLICT (user_id) DO UPDATE SET presence = EXCLUDED.presence, status_msg = EXCLUDED.status_msg,
               last_active_ts = EXCLUDED.last_active_ts, stream_pos = EXCLUDED.stream_pos`,
      values: [state.userId, state.presence, state.statusMsg ?? null, state.lastActiveTs],
    }]).then(({ position }) => position);
  },

  async touch(userId, lastActiveTs) {
    await db.query('UPDATE presence SET last_active_ts = GREATEST(last_active_ts, $2) WHERE user_id = $1', [userId, lastActiveTs]);
  },

  currentPosition: () => currentPosition(db, 'presence'),

  async present() {
    const { rows } = await db.query<Row>("SELECT * FROM presence WHERE presence <> 'offline'");
    return rows.map(fromRow);
  },

  async changesSince(userIds, since, upTo) {
    if (userIds.length === 0) return [];
    const { rows } = await db.query<Row>(
      `SELECT * FROM presence WHERE user_id = ANY($1::text[]) AND stream_pos > $2 AND stream_pos <= $3 ORDER BY stream_pos`,
      [userIds, since, upTo],
    );
    return rows.map(fromRow);
  },
});
