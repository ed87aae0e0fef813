/** Pushers (pusher.yaml), one row per user, `app_id` and `pushkey`. Schema: schema.ts. */
import type { JsonObject, Pusher, PusherStore, SqlDatabase } from '../../domain/app/userData/index.ts';

interface PusherRow {
  user_id: string;
  app_id: string;
  pushkey: string;
  kind: string;
  app_display_name: string;
  device_display_name: string;
  profile_tag: string;
  lang: string;
  data: JsonObject;
  device_id: string;
  created_ts: number;
  pushkey_ts: number | null;
}

const toPusher = (row: PusherRow): Pusher => ({
  userId: row.user_id,
  appId: row.app_id,
  pushkey: row.pushkey,
  kind: row.kind,
  appDisplayName: row.app_display_name,
  deviceDisplayName: row.device_display_name,
  profileTag: row.profile_tag,
  lang: row.lang,
  data: row.data,
  deviceId: row.device_id,
  createdTs: Number(row.created_ts),
  // Rows from before pushkey_ts was kept were last set when created.
  pushkeyTs: Number(row.pushkey_ts ?? row.created_ts),
});

export const createSqlPusherStore = (db: SqlDatabase): PusherStore => ({
  async list(userId) {
    const { rows } = await db.query<PusherRow>(
      `SELECT user_id, app_id, pushkey, kind, app_display_name, device_display_name, profile_tag, lang, data, device_id, created_ts, pushkey_ts
       FROM pushers WHERE user_id = $1 ORDER BY created_ts, app_id, pushkey`,
      [userId],
    );
    return rows.map(toPusher);
  },
  async upsert(p) {
    // An update keeps the pusher's creation time, so the list order stays stable; pushkey_ts moves.
    await db.query(
      `INSERT INTO pushers (user_id, app_id, pushkey, kind, app_display_name, device_display_name, profile_tag, lang, data, device_id, created_ts, pushkey_ts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12)
       ON CONFLICT (user_id, app_id, pushkey) DO UPDATE SET
         kind = EXCLUDED.kind, app_display_name = EXCLUDED.app_display_name, device_display_name = EXCLUDED.device_display_name,
         profile_tag = EXCLUDED.profile_tag, lang = EXCLUDED.lang, data = EXCLUDED.data, device_id = EXCLUDED.device_id,
         pushkey_ts = EXCLUDED.pushkey_ts`,
      [p.userId, p.appId, p.pushkey, p.kind, p.appDisplayName, p.deviceDisplayName, p.profileTag, p.lang, JSON.stringify(p.data), p.deviceId, p.createdTs, p.pushkeyTs],
    );
  },
  async delete(userId, appId, pushkey) {
    await db.query('DELETE FROM pushers WHERE user_id = $1 AND app_id = $2 AND pushkey = $3', [userId, appId, pushkey]);
  },
  async deleteForOtherUsers(appId, pushkey, keepUserId) {
    await db.query('DELETE FROM pushers WHERE app_id = $1 AND pushkey = $2 AND user_id <> $3', [appId, pushkey, keepUserId]);
  },
  async deleteOfDevice(userId, deviceId) {
    await db.query('DELETE FROM pushers WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
  },
  async usersWithHttpPushers() {
    const { rows } = await db.query<{ user_id: string }>("SELECT DISTINCT user_id FROM pushers WHERE kind = 'http' ORDER BY user_id");
    return rows.map((row) => row.user_id);
  },
  async deleteAllOfUser(userId) {
    await db.query('DELETE FROM pushers WHERE user_id = $1', [userId]);
  },
});
