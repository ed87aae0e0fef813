/**
 * Server-side key backups (client-server-api § Server-side key backups): versions per user and
 * their session keys. Every write of a user's backups takes that user's transaction-scoped
 * advisory lock, so "is this the latest version?" and the write that depends on it cannot
 * interleave with a new version being created.
 */
import type {
  BackedUpRoomKey, JsonObject, KeyBackupStore, KeyBackupSummary, KeyBackupVersion, RoomKeySelection, SqlDatabase, SqlExecutor,
} from '../../domain/app/userData/index.ts';

/** Versions are decimal numbers; anything else names no version. */
const versionNumber = (version: string): string | undefined => (/^[1-9][0-9]{0,14}$/.test(version) ? version : undefined);

const lockBackups = async (tx: SqlExecutor, userId: string): Promise<void> => {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`strata.keyBackup.${userId}`]);
};

interface VersionRow {
  version: string | number;
  algorithm: string;
  auth_data: string;
  etag: string | number;
}

const latestVersion = async (tx: SqlExecutor, userId: string): Promise<string | undefined> => {
  const { rows } = await tx.query<{ version: string | number }>(
    'SELECT version FROM e2e_room_key_versions WHERE user_id = $1 AND NOT deleted ORDER BY version DESC LIMIT 1', [userId],
  );
  return rows[0] === undefined ? undefined : String(rows[0].version);
};

const summary = async (tx: SqlExecutor, userId: string, version: string): Promise<KeyBackupSummary> => {
  const { rows } = await tx.query<{ etag: string | number; n: string | number }>(
    `SELECT v.etag, (SELECT count(*) FROM e2e_room_keys k WHERE k.user_id = v.user_id AND k.version = v.version) AS n
     FROM e2e_room_key_versions v WHERE v.user_id = $1 AND v.version = $2`,
    [userId, version],
  );
  return { etag: String(rows[0]!.etag), count: Number(rows[0]!.n) };
};

const bumpEtag = async (tx: SqlExecutor, userId: string, version: string): Promise<void> => {
  await tx.query('UPDATE e2e_room_key_versions SET etag = etag + 1 WHERE user_id = $1 AND version = $2', [userId, version]);
};

/** `WHERE` conditions (from $3 on) selecting a room's or a session's keys. */
const selection = (which: RoomKeySelection): { sql: string; params: string[] } => {
  if (which.roomId === undefined) return { sql: '', params: [] };
  if (which.sessionId === undefined) return { sql: ' AND room_id = $3', params: [which.roomId] };
  return { sql: ' AND room_id = $3 AND session_id = $4', params: [which.roomId, which.sessionId] };
};

interface KeyRow {
  room_id: string;
  session_id: string;
  first_message_index: string | number;
  forwarded_count: string | number;
  is_verified: boolean;
  session_data: string;
}

const keyOf = (row: KeyRow): BackedUpRoomKey => ({
  roomId: row.room_id,
  sessionId: row.session_id,
  firstMessageIndex: Number(row.first_message_index),
  forwardedCount: Number(row.forwarded_count),
  isVerified: row.is_verified,
  sessionData: JSON.parse(row.session_data) as JsonObject,
});

export const createSqlKeyBackupStore = (db: SqlDatabase): KeyBackupStore => ({
  createVersion(userId, algorithm, authData) {
    return db.transaction(async (tx) => {
      await lockBackups(tx, userId);
      const { rows } = await tx.query<{ version: string | number }>(
        `INSERT INTO e2e_room_key_versions (user_id, version, algorithm, auth_data)
         SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3 FROM e2e_room_key_versions WHERE user_id = $1
         RETURNING version`,
        [userId, algorithm, JSON.stringify(authData)],
      );
      return String(rows[0]!.version);
    });
  },

  async getVersion(userId, version) {
    const number = version === undefined ? undefined : versionNumber(version);
    if (version !== undefined && number === undefined) return undefined;
    const { rows } = await db.query<VersionRow & { n: string | number }>(
      `SELECT v.version, v.algorithm, v.auth_data, v.etag,
         (SELECT count(*) FROM e2e_room_keys k WHERE k.user_id = v.user_id AND k.version = v.version) AS n
       FROM e2e_room_key_versions v
       WHERE v.user_id = $1 AND NOT v.deleted AND ($2::bigint IS NULL OR v.version = $2::bigint)
       ORDER BY v.version DESC LIMIT 1`,
      [userId, number ?? null],
    );
    const row = rows[0];
    if (row === undefined) return undefined;
    const found: KeyBackupVersion = {
      version: String(row.version), algorithm: row.algorithm, authData: JSON.parse(row.auth_data) as JsonObject,
      etag: String(row.etag), count: Number(row.n),
    };
    return found;
  },

  async updateVersion(userId, version, authData) {
    const number = versionNumber(version);
    if (number === undefined) return false;
    const { rows } = await db.query<{ version: string | number }>(
      'UPDATE e2e_room_key_versions SET auth_data = $3 WHERE user_id = $1 AND version = $2 AND NOT deleted RETURNING version',
      [userId, number, JSON.stringify(authData)],
    );
    return rows.length > 0;
  },

  deleteVersion(userId, version) {
    const number = versionNumber(version);
    if (number === undefined) return Promise.resolve(false);
    return db.transaction(async (tx) => {
      await lockBackups(tx, userId);
      const { rows } = await tx.query<{ version: string | number }>(
        'UPDATE e2e_room_key_versions SET deleted = TRUE WHERE user_id = $1 AND version = $2 RETURNING version', [userId, number],
      );
      await tx.query('DELETE FROM e2e_room_keys WHERE user_id = $1 AND version = $2', [userId, number]);
      return rows.length > 0;
    });
  },

  putKeys(userId, version, keys, keepStored) {
    return db.transaction(async (tx) => {
      await lockBackups(tx, userId);
      const latest = await latestVersion(tx, userId);
      if (latest === undefined || latest !== versionNumber(version)) return { latestVersion: latest };
      // Two statements for the whole upload, not two per session: a backup upload carries up to
      // LIMITS.roomKeysPerUpload sessions, and a round trip per session ties the connection up.
      const candidates = new Map<string, BackedUpRoomKey>();
      for (const key of keys) {
        const id = JSON.stringify([key.roomId, key.sessionId]);
        const earlier = candidates.get(id);
        if (earlier === undefined || !keepStored(earlier, key)) candidates.set(id, key);
      }
      const { rows } = await tx.query<KeyRow>(
        `SELECT k.room_id, k.session_id, k.first_message_index, k.forwarded_count, k.is_verified, k.session_data
         FROM e2e_room_keys k JOIN unnest($3::text[], $4::text[]) AS u(room_id, session_id)
           ON k.room_id = u.room_id AND k.session_id = u.session_id
         WHERE k.user_id = $1 AND k.version = $2`,
        [userId, latest, [...candidates.values()].map((key) => key.roomId), [...candidates.values()].map((key) => key.sessionId)],
      );
      for (const row of rows) {
        const id = JSON.stringify([row.room_id, row.session_id]);
        if (keepStored(keyOf(row), candidates.get(id)!)) candidates.delete(id);
      }
      const winners = [...candidates.values()];
      const changed = winners.length > 0;
      if (changed) {
        await tx.query(
          `INSERT INTO e2e_room_keys (user_id, version, room_id, session_id, first_message_index, forwarded_count, is_verified, session_data)
           SELECT $1::text, $2::bigint, u.room_id, u.session_id, u.first_message_index, u.forwarded_count, u.is_verified, u.session_data
           FROM unnest($3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::boolean[], $8::text[])
             AS u(room_id, session_id, first_message_index, forwarded_count, is_verified, session_data)
           ON CONFLICT (user_id, version, room_id, session_id) DO UPDATE SET
             first_message_index = EXCLUDED.first_message_index, forwarded_count = EXCLUDED.forwarded_count,
             is_verified = EXCLUDED.is_verified, session_data = EXCLUDED.session_data`,
          [
            userId, latest,
            winners.map((key) => key.roomId), winners.map((key) => key.sessionId),
            winners.map((key) => key.firstMessageIndex), winners.map((key) => key.forwardedCount),
            winners.map((key) => key.isVerified), winners.map((key) => JSON.stringify(key.sessionData)),
          ],
        );
      }
      if (changed) await bumpEtag(tx, userId, latest);
      return { stored: await summary(tx, userId, latest) };
    });
  },

  async getKeys(userId, version, which) {
    const number = versionNumber(version);
    if (number === undefined) return [];
    const where = selection(which);
    const { rows } = await db.query<KeyRow>(
      `SELECT room_id, session_id, first_message_index, forwarded_count, is_verified, session_data FROM e2e_room_keys
       WHERE user_id = $1 AND version = $2${where.sql} ORDER BY room_id, session_id`,
      [userId, number, ...where.params],
    );
    return rows.map(keyOf);
  },

  deleteKeys(userId, version, which) {
    const number = versionNumber(version);
    if (number === undefined) return Promise.resolve(undefined);
    return db.transaction(async (tx) => {
      await lockBackups(tx, userId);
      const { rows } = await tx.query<{ version: string | number }>(
        'SELECT version FROM e2e_room_key_versions WHERE user_id = $1 AND version = $2 AND NOT deleted', [userId, number],
      );
      if (rows.length === 0) return undefined;
      const where = selection(which);
      const deleted = await tx.query<{ session_id: string }>(
        `DELETE FROM e2e_room_keys WHERE user_id = $1 AND version = $2${where.sql} RETURNING session_id`,
        [userId, number, ...where.params],
      );
      if (deleted.rows.length > 0) await bumpEtag(tx, userId, number);
      return summary(tx, userId, number);
    });
  },
});
