/** The AccountStore port over SQL (PostgreSQL or PGlite). Schema: accountSchema.ts. */
import type { AccountStore, Device, ProfileFields, UiaSession, UserAccount } from '../../domain/app/accounts/index.ts';
import type { SqlDatabase } from '../../domain/index.ts';
import { ensureAccountSchema } from './accountSchema.ts';
import { insertAccessToken, refreshSession, retireReplacedRefreshToken, toOwner, type TokenRow } from './sqlRefreshTokens.ts';

interface UserRow {
  user_id: string;
  password_hash: string | null;
  is_guest: boolean;
  is_admin: boolean;
  created_ts: number;
  deactivated: boolean;
  locked: boolean;
  suspended: boolean;
}

interface DeviceRow {
  user_id: string;
  device_id: string;
  display_name: string | null;
  last_seen_ip: string | null;
  last_seen_ts: number | null;
}

interface SessionRow {
  session_id: string;
  operation: string;
  user_id: string | null;
  completed: string[];
  created_ts: number;
  data: Record<string, JsonValue>;
}

const toUser = (row: UserRow): UserAccount => ({
  userId: row.user_id,
  passwordHash: row.password_hash,
  isGuest: row.is_guest,
  isAdmin: row.is_admin,
  createdTs: Number(row.created_ts),
  ...(row.deactivated ? { deactivated: true } : {}),
  ...(row.locked ? { locked: true } : {}),
  ...(row.suspended ? { suspended: true } : {}),
});

const toDevice = (row: DeviceRow): Device => ({
  userId: row.user_id,
  deviceId: row.device_id,
  ...(row.display_name === null ? {} : { displayName: row.display_name }),
  ...(row.last_seen_ip === null ? {} : { lastSeenIp: row.last_seen_ip }),
  ...(row.last_seen_ts === null ? {} : { lastSeenTs: Number(row.last_seen_ts) }),
});

const toSession = (row: SessionRow): UiaSession => ({
  sessionId: row.session_id,
  operation: row.operation,
  ...(row.user_id === null ? {} : { userId: row.user_id }),
  completed: row.completed,
  createdTs: Number(row.created_ts),
  data: row.data,
});

type JsonValue = ProfileFields[string];

const DEVICE_COLUMNS = 'user_id, device_id, display_name, last_seen_ip, last_seen_ts';

/** Creates the tables if needed, then returns the store. */
export const createSqlAccountStore = async (db: SqlDatabase): Promise<AccountStore> => {
  await ensureAccountSchema(db);
  return {
    createUser: (user) =>
      db.transaction(async (tx) => {
        const inserted = await tx.query(
          `INSERT INTO users (user_id, password_hash, is_guest, is_admin, created_ts) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (user_id) DO NOTHING RETURNING user_id`,
          [user.userId, user.passwordHash, user.isGuest, user.isAdmin, user.createdTs],
        );
        if (inserted.rows.length === 0) return false;
        for (const [field, value] of Object.entries(user.profile)) {
          await tx.query('INSERT INTO profile_fields (user_id, field, value) VALUES ($1, $2, $3::jsonb)', [
            user.userId,
            field,
            JSON.stringify(value),
          ]);
        }
        return true;
      }),
    async getUser(userId) {
      const { rows } = await db.query<UserRow>(
        'SELECT user_id, password_hash, is_guest, is_admin, created_ts, deactivated, locked, suspended FROM users WHERE user_id = $1',
        [userId],
      );
      return rows[0] === undefined ? undefined : toUser(rows[0]);
    },
    async setPasswordHash(userId, passwordHash) {
      await db.query('UPDATE users SET password_hash = $2 WHERE user_id = $1', [userId, passwordHash]);
    },
    async nextGuestLocalpart() {
      const { rows } = await db.query<{ next: string }>("SELECT nextval('guest_localparts')::text AS next");
      return rows[0]!.next;
    },
    upgradeGuest: (userId, passwordHash) =>
      db.transaction(async (tx) => {
        const { rowCount } = await tx.query(
          'UPDATE users SET password_hash = $2, is_guest = FALSE WHERE user_id = $1 AND is_guest AND NOT deactivated',
          [userId, passwordHash],
        );
        if (rowCount === 0) return false;
        await tx.query('DELETE FROM access_tokens WHERE user_id = $1', [userId]);
        await tx.query('DELETE FROM refresh_tokens WHERE user_id = $1', [userId]);
        return true;
      }),
    async deactivateUser(userId) {
      await db.query('UPDATE users SET deactivated = TRUE, password_hash = NULL WHERE user_id = $1', [userId]);
    },

    async setUserLocked(userId, locked) {
      await db.query('UPDATE users SET locked = $2 WHERE user_id = $1', [userId, locked]);
    },
    async setUserSuspended(userId, suspended) {
      await db.query('UPDATE users SET suspended = $2 WHERE user_id = $1', [userId, suspended]);
    },

    async ensureDevice(userId, deviceId, displayName, now) {
      const { rows } = await db.query(
        `INSERT INTO devices (user_id, device_id, display_name, created_ts) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, device_id) DO NOTHING RETURNING device_id`,
        [userId, deviceId, displayName ?? null, now],
      );
      return { created: rows.length > 0 };
    },
    async getDevice(userId, deviceId) {
      const { rows } = await db.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE user_id = $1 AND device_id = $2`, [
        userId,
        deviceId,
      ]);
      return rows[0] === undefined ? undefined : toDevice(rows[0]);
    },
    async listDevices(userId) {
      const { rows } = await db.query<DeviceRow>(`SELECT ${DEVICE_COLUMNS} FROM devices WHERE user_id = $1 ORDER BY device_id`, [userId]);
      return rows.map(toDevice);
    },
    async setDeviceDisplayName(userId, deviceId, displayName) {
      const { rowCount } = await db.query('UPDATE devices SET display_name = $3 WHERE user_id = $1 AND device_id = $2', [
        userId,
        deviceId,
        displayName,
      ]);
      return rowCount > 0;
    },
    async recordDeviceSeen(userId, deviceId, connection, now) {
      const { rowCount } = await db.query(
        `UPDATE devices SET last_seen_ts = $3, last_seen_ip = COALESCE($4, last_seen_ip)
         WHERE user_id = $1 AND device_id = $2`,
        [userId, deviceId, now, connection.ip ?? null],
      );
      if (rowCount === 0 || connection.ip === undefined) return;
      // A device deleted meanwhile takes its rows with it (the foreign key), so none is added for it.
      await db.query(
        `INSERT INTO device_connections (user_id, device_id, ip, user_agent, last_seen)
         SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM devices WHERE user_id = $1 AND device_id = $2)
         ON CONFLICT (user_id, device_id, ip) DO UPDATE SET user_agent = EXCLUDED.user_agent, last_seen = EXCLUDED.last_seen
         WHERE device_connections.last_seen <= EXCLUDED.last_seen`,
        [userId, deviceId, connection.ip, connection.userAgent ?? '', now],
      );
    },
    async listConnections(userId) {
      const { rows } = await db.query<{ device_id: string; ip: string; user_agent: string; last_seen: number }>(
        'SELECT device_id, ip, user_agent, last_seen FROM device_connections WHERE user_id = $1 ORDER BY last_seen DESC, device_id, ip',
        [userId],
      );
      return rows.map((row) => ({ deviceId: row.device_id, ip: row.ip, userAgent: row.user_agent, lastSeen: Number(row.last_seen) }));
    },
    async deleteDevices(userId, deviceIds) {
      if (deviceIds.length === 0) return [];
      const { rows } = await db.query<{ device_id: string }>(
        'DELETE FROM devices WHERE user_id = $1 AND device_id = ANY($2::text[]) RETURNING device_id',
        [userId, [...deviceIds]],
      );
      return rows.map((row) => row.device_id);
    },
    async deleteOtherDevices(userId, keepDeviceId) {
      const { rows } = await db.query<{ device_id: string }>(
        'DELETE FROM devices WHERE user_id = $1 AND ($2::text IS NULL OR device_id <> $2::text) RETURNING device_id',
        [userId, keepDeviceId ?? null],
      );
      return rows.map((row) => row.device_id);
    },

    async addAccessToken(tokenHash, owner, now) {
      await insertAccessToken(db, tokenHash, owner, now);
    },
    async findAccessToken(tokenHash) {
      const { rows } = await db.query<TokenRow>(
        // The account's moderation flags come along, so authentication costs one round trip.
        `SELECT a.user_id, a.device_id, a.is_guest, a.expires_ts, a.refresh_token_sha256, r.parent_sha256 IS NOT NULL AS replaces,
                u.is_admin, u.locked, u.suspended
         FROM access_tokens a LEFT JOIN refresh_tokens r ON r.token_sha256 = a.refresh_token_sha256
         LEFT JOIN users u ON u.user_id = a.user_id
         WHERE a.token_sha256 = $1`,
        [tokenHash],
      );
      return rows[0] === undefined ? undefined : toOwner(rows[0]);
    },
    async deleteAccessTokensOfDevice(userId, deviceId) {
      await db.query('DELETE FROM access_tokens WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
      await db.query('DELETE FROM refresh_tokens WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
    },
    async addRefreshToken(tokenHash, owner, now) {
      await db.query('INSERT INTO refresh_tokens (token_sha256, user_id, device_id, created_ts) VALUES ($1, $2, $3, $4)', [
        tokenHash, owner.userId, owner.deviceId, now,
      ]);
    },
    refreshSession: (refreshTokenHash, next, now) => refreshSession(db, refreshTokenHash, next, now),
    retireReplacedRefreshToken: (refreshTokenHash) => retireReplacedRefreshToken(db, refreshTokenHash),

    async createUiaSession(session) {
      await db.query(
        'INSERT INTO ui_auth_sessions (session_id, operation, user_id, completed, created_ts, data) VALUES ($1, $2, $3, $4::jsonb, $5, $6::jsonb)',
        [session.sessionId, session.operation, session.userId ?? null, JSON.stringify(session.completed), session.createdTs, JSON.stringify(session.data)],
      );
    },
    async getUiaSession(sessionId) {
      const { rows } = await db.query<SessionRow>(
        'SELECT session_id, operation, user_id, completed, created_ts, data FROM ui_auth_sessions WHERE session_id = $1',
        [sessionId],
      );
      return rows[0] === undefined ? undefined : toSession(rows[0]);
    },
    async updateUiaSession(sessionId, completed, userId) {
      await db.query('UPDATE ui_auth_sessions SET completed = $2::jsonb, user_id = COALESCE($3, user_id) WHERE session_id = $1', [
        sessionId,
        JSON.stringify(completed),
        userId ?? null,
      ]);
    },
    async setUiaSessionData(sessionId, key, value) {
      await db.query('UPDATE ui_auth_sessions SET data = data || jsonb_build_object($2::text, $3::jsonb) WHERE session_id = $1', [
        sessionId, key, JSON.stringify(value),
      ]);
    },
    async deleteUiaSession(sessionId) {
      await db.query('DELETE FROM ui_auth_sessions WHERE session_id = $1', [sessionId]);
    },
    async deleteExpiredUiaSessions(createdBefore) {
      await db.query('DELETE FROM ui_auth_sessions WHERE created_ts < $1', [createdBefore]);
    },

    async getProfile(userId) {
      const { rows } = await db.query<{ field: string | null; value: JsonValue }>(
        `SELECT p.field, p.value FROM users u LEFT JOIN profile_fields p ON p.user_id = u.user_id
         WHERE u.user_id = $1 ORDER BY p.field`,
        [userId],
      );
      if (rows.length === 0) return undefined;
      const profile: Record<string, JsonValue> = {};
      for (const row of rows) if (row.field !== null) profile[row.field] = row.value;
      return profile as ProfileFields;
    },
    async setProfileField(userId, key, value) {
      await db.query(
        `INSERT INTO profile_fields (user_id, field, value) VALUES ($1, $2, $3::jsonb)
         ON CONFLICT (user_id, field) DO UPDATE SET value = EXCLUDED.value`,
        [userId, key, JSON.stringify(value)],
      );
    },
    async deleteProfileField(userId, key) {
      await db.query('DELETE FROM profile_fields WHERE user_id = $1 AND field = $2', [userId, key]);
    },

    async addOpenIdToken(tokenHash, userId, expiresTs) {
      await db.query('INSERT INTO openid_tokens (token_sha256, user_id, expires_ts) VALUES ($1, $2, $3)', [tokenHash, userId, expiresTs]);
    },
    async findOpenIdToken(tokenHash, now) {
      // Lookups are rare (a third party checking a token), so they sweep the expired ones.
      await db.query('DELETE FROM openid_tokens WHERE expires_ts <= $1', [now]);
      const { rows } = await db.query<{ user_id: string }>(
        'SELECT user_id FROM openid_tokens WHERE token_sha256 = $1 AND expires_ts > $2',
        [tokenHash, now],
      );
      return rows[0]?.user_id;
    },

    async addRegistrationNonce(nonce, expiresTs) {
      await db.query('INSERT INTO registration_nonces (nonce, expires_ts) VALUES ($1, $2)', [nonce, expiresTs]);
    },
    async consumeRegistrationNonce(nonce, now) {
      // Sweep the expired ones while here; the DELETE … RETURNING makes each nonce single-use.
      await db.query('DELETE FROM registration_nonces WHERE expires_ts <= $1 AND nonce <> $2', [now, nonce]);
      const { rows } = await db.query<{ expires_ts: number }>('DELETE FROM registration_nonces WHERE nonce = $1 RETURNING expires_ts', [nonce]);
      return rows[0] !== undefined && Number(rows[0].expires_ts) > now;
    },
  };
};
