/**
 * The ThreePidStore port over SQL (PostgreSQL or PGlite), beside the account tables: validation
 * sessions, the 3PIDs bound to accounts, which 3PID completed a UIA session's email stage, and the
 * identity servers a 3PID was bound at through us.
 */
import type { SqlDatabase } from '../../domain/index.ts';
import type {
  AccountThreePid, IdentityServerBinding, ThreePidMedium, ThreePidStore, ThreePidValidationSession,
} from '../../domain/ports/index.ts';
import { applySchema } from '../postgres/index.ts';

export const THREEPID_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS threepid_validation_sessions (
    session_id        TEXT PRIMARY KEY,
    medium            TEXT NOT NULL,
    address           TEXT NOT NULL,
    client_secret     TEXT NOT NULL,
    last_send_attempt BIGINT NOT NULL,
    token_sha256      TEXT NOT NULL,
    token_expires_ts  BIGINT NOT NULL,
    validated_ts      BIGINT,
    created_ts        BIGINT NOT NULL
  )`,
  'ALTER TABLE threepid_validation_sessions ADD COLUMN IF NOT EXISTS next_link TEXT',
  'CREATE INDEX IF NOT EXISTS threepid_validation_sessions_by_expiry ON threepid_validation_sessions (token_expires_ts)',
  'CREATE UNIQUE INDEX IF NOT EXISTS threepid_validation_sessions_by_owner ON threepid_validation_sessions (medium, address, client_secret)',
  // Synapse's `user_threepids`: one account per 3PID.
  `CREATE TABLE IF NOT EXISTS user_threepids (
    user_id      TEXT NOT NULL,
    medium       TEXT NOT NULL,
    address      TEXT NOT NULL,
    validated_ts BIGINT NOT NULL,
    added_ts     BIGINT NOT NULL,
    PRIMARY KEY (medium, address)
  )`,
  'CREATE INDEX IF NOT EXISTS user_threepids_by_user ON user_threepids (user_id)',
  `CREATE TABLE IF NOT EXISTS ui_auth_threepids (
    session_id   TEXT PRIMARY KEY,
    medium       TEXT NOT NULL,
    address      TEXT NOT NULL,
    validated_ts BIGINT NOT NULL
  )`,
  // Synapse's `user_threepid_id_server`.
  `CREATE TABLE IF NOT EXISTS user_threepid_id_servers (
    user_id   TEXT NOT NULL,
    medium    TEXT NOT NULL,
    address   TEXT NOT NULL,
    id_server TEXT NOT NULL,
    PRIMARY KEY (user_id, medium, address, id_server)
  )`,
];

interface SessionRow {
  session_id: string;
  medium: ThreePidMedium;
  address: string;
  client_secret: string;
  last_send_attempt: string | number;
  token_sha256: string;
  token_expires_ts: string | number;
  validated_ts: string | number | null;
  created_ts: string | number;
  next_link: string | null;
}

interface ThreePidRow {
  user_id: string;
  medium: ThreePidMedium;
  address: string;
  validated_ts: string | number;
  added_ts: string | number;
}

const SESSION_COLUMNS = 'session_id, medium, address, client_secret, last_send_attempt, token_sha256, token_expires_ts, validated_ts, created_ts, next_link';

const toSession = (row: SessionRow): ThreePidValidationSession => ({
  sessionId: row.session_id,
  medium: row.medium,
  address: row.address,
  clientSecret: row.client_secret,
  lastSendAttempt: Number(row.last_send_attempt),
  tokenHash: row.token_sha256,
  tokenExpiresTs: Number(row.token_expires_ts),
  ...(row.validated_ts === null ? {} : { validatedTs: Number(row.validated_ts) }),
  createdTs: Number(row.created_ts),
  ...(row.next_link === null ? {} : { nextLink: row.next_link }),
});

const toThreePid = (row: ThreePidRow): AccountThreePid => ({
  userId: row.user_id,
  medium: row.medium,
  address: row.address,
  validatedTs: Number(row.validated_ts),
  addedTs: Number(row.added_ts),
});

/** Creates the tables if needed, then returns the store. */
export const createSqlThreePidStore = async (db: SqlDatabase): Promise<ThreePidStore> => {
  await applySchema(db, 'strata.threepids.schema', THREEPID_SCHEMA);
  const oneSession = async (where: string, values: readonly string[]): Promise<ThreePidValidationSession | undefined> => {
    const { rows } = await db.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM threepid_validation_sessions WHERE ${where}`, values);
    return rows[0] === undefined ? undefined : toSession(rows[0]);
  };
  return {
    findValidationSession: (medium, address, clientSecret) =>
      oneSession('medium = $1 AND address = $2 AND client_secret = $3', [medium, address, clientSecret]),
    getValidationSession: (sessionId) => oneSession('session_id = $1', [sessionId]),
    async upsertValidationSession(session) {
      await db.query(
        `INSERT INTO threepid_validation_sessions (${SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (session_id) DO UPDATE SET last_send_attempt = EXCLUDED.last_send_attempt,
           token_sha256 = EXCLUDED.token_sha256, token_expires_ts = EXCLUDED.token_expires_ts, next_link = EXCLUDED.next_link`,
        [session.sessionId, session.medium, session.address, session.clientSecret, session.lastSendAttempt, session.tokenHash,
          session.tokenExpiresTs, session.validatedTs ?? null, session.createdTs, session.nextLink ?? null],
      );
    },
    async deleteExpiredValidationSessions(before) {
      await db.query('DELETE FROM threepid_validation_sessions WHERE token_expires_ts < $1', [before]);
    },
    async markValidated(sessionId, now) {
      await db.query('UPDATE threepid_validation_sessions SET validated_ts = COALESCE(validated_ts, $2) WHERE session_id = $1', [sessionId, now]);
    },

    async recordUiaThreePid(uiaSessionId, medium, address, validatedTs) {
      await db.query(
        `INSERT INTO ui_auth_threepids (session_id, medium, address, validated_ts) VALUES ($1, $2, $3, $4)
         ON CONFLICT (session_id) DO UPDATE SET medium = EXCLUDED.medium, address = EXCLUDED.address, validated_ts = EXCLUDED.validated_ts`,
        [uiaSessionId, medium, address, validatedTs],
      );
    },
    async uiaThreePid(uiaSessionId) {
      const { rows } = await db.query<{ medium: ThreePidMedium; address: string; validated_ts: string | number }>(
        'SELECT medium, address, validated_ts FROM ui_auth_threepids WHERE session_id = $1', [uiaSessionId]);
      const row = rows[0];
      return row === undefined ? undefined : { medium: row.medium, address: row.address, validatedTs: Number(row.validated_ts) };
    },

    async listThreePids(userId) {
      const { rows } = await db.query<ThreePidRow>(
        'SELECT user_id, medium, address, validated_ts, added_ts FROM user_threepids WHERE user_id = $1 ORDER BY added_ts, address', [userId]);
      return rows.map(toThreePid);
    },
    async ownerOf(medium, address) {
      const { rows } = await db.query<{ user_id: string }>('SELECT user_id FROM user_threepids WHERE medium = $1 AND address = $2', [medium, address]);
      return rows[0]?.user_id;
    },
    async addThreePid(threePid) {
      const { rows } = await db.query(
        `INSERT INTO user_threepids (user_id, medium, address, validated_ts, added_ts) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (medium, address) DO NOTHING RETURNING user_id`,
        [threePid.userId, threePid.medium, threePid.address, threePid.validatedTs, threePid.addedTs],
      );
      return rows.length > 0;
    },
    async deleteThreePid(userId, medium, address) {
      const { rowCount } = await db.query('DELETE FROM user_threepids WHERE user_id = $1 AND medium = $2 AND address = $3', [userId, medium, address]);
      return rowCount > 0;
    },

    async addBinding(binding: IdentityServerBinding) {
      await db.query(
        `INSERT INTO user_threepid_id_servers (user_id, medium, address, id_server) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [binding.userId, binding.medium, binding.address, binding.idServer],
      );
    },
    async bindings(userId, medium, address) {
      const { rows } = await db.query<{ id_server: string }>(
        'SELECT id_server FROM user_threepid_id_servers WHERE user_id = $1 AND medium = $2 AND address = $3 ORDER BY id_server',
        [userId, medium, address]);
      return rows.map((row) => ({ userId, medium, address, idServer: row.id_server }));
    },
    async bindingsOf(userId) {
      const { rows } = await db.query<{ medium: ThreePidMedium; address: string; id_server: string }>(
        'SELECT medium, address, id_server FROM user_threepid_id_servers WHERE user_id = $1 ORDER BY medium, address, id_server', [userId]);
      return rows.map((row) => ({ userId, medium: row.medium, address: row.address, idServer: row.id_server }));
    },
    async deleteBinding(binding) {
      await db.query('DELETE FROM user_threepid_id_servers WHERE user_id = $1 AND medium = $2 AND address = $3 AND id_server = $4',
        [binding.userId, binding.medium, binding.address, binding.idServer]);
    },
  };
};
