/**
 * Tables of the account store, in PostgreSQL's dialect (PGlite runs it too). The DDL is idempotent
 * and serialised by an advisory lock, so several processes may start at once.
 */
import type { SqlDatabase } from '../../domain/index.ts';
import { applySchema } from '../postgres/index.ts';

export const ACCOUNT_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS users (
    user_id       TEXT PRIMARY KEY,
    password_hash TEXT,
    is_guest      BOOLEAN NOT NULL DEFAULT FALSE,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    created_ts    BIGINT NOT NULL
  )`,
  // Added after the first release of this table: databases created before them gain the columns.
  'ALTER TABLE users ADD COLUMN IF NOT EXISTS deactivated BOOLEAN NOT NULL DEFAULT FALSE',
  // Account moderation (client-server-api § Account locking, § Account suspension), reversible flags.
  'ALTER TABLE users ADD COLUMN IF NOT EXISTS locked BOOLEAN NOT NULL DEFAULT FALSE',
  'ALTER TABLE users ADD COLUMN IF NOT EXISTS suspended BOOLEAN NOT NULL DEFAULT FALSE',
  // One row per profile field; the value is the field's JSON (a JSON null is stored, not deleted).
  `CREATE TABLE IF NOT EXISTS profile_fields (
    user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    field   TEXT NOT NULL,
    value   JSONB NOT NULL,
    PRIMARY KEY (user_id, field)
  )`,
  `CREATE TABLE IF NOT EXISTS devices (
    user_id      TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    device_id    TEXT NOT NULL,
    display_name TEXT,
    last_seen_ip TEXT,
    last_seen_ts BIGINT,
    created_ts   BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id)
  )`,
  // Only the SHA-256 of a token is kept; deleting a device deletes its tokens.
  `CREATE TABLE IF NOT EXISTS access_tokens (
    token_sha256 TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    is_guest     BOOLEAN NOT NULL DEFAULT FALSE,
    created_ts   BIGINT NOT NULL,
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
  )`,
  'CREATE INDEX IF NOT EXISTS access_tokens_by_device ON access_tokens (user_id, device_id)',
  // Refreshable access tokens (since v1.3) expire, and name the refresh token issued with them.
  'ALTER TABLE access_tokens ADD COLUMN IF NOT EXISTS expires_ts BIGINT',
  'ALTER TABLE access_tokens ADD COLUMN IF NOT EXISTS refresh_token_sha256 TEXT',
  'CREATE INDEX IF NOT EXISTS access_tokens_by_refresh_token ON access_tokens (refresh_token_sha256)',
  // `parent_sha256`: the refresh token this one replaced, valid until this one or its access token is used.
  `CREATE TABLE IF NOT EXISTS refresh_tokens (
    token_sha256  TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    parent_sha256 TEXT,
    created_ts    BIGINT NOT NULL,
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
  )`,
  'CREATE INDEX IF NOT EXISTS refresh_tokens_by_parent ON refresh_tokens (parent_sha256)',
  'CREATE INDEX IF NOT EXISTS refresh_tokens_by_device ON refresh_tokens (user_id, device_id)',
  `CREATE TABLE IF NOT EXISTS ui_auth_sessions (
    session_id TEXT PRIMARY KEY,
    operation  TEXT NOT NULL,
    user_id    TEXT,
    completed  JSONB NOT NULL,
    created_ts BIGINT NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS ui_auth_sessions_by_age ON ui_auth_sessions (created_ts)',
  // What an operation keeps across retries of its session (a registration's account).
  "ALTER TABLE ui_auth_sessions ADD COLUMN IF NOT EXISTS data JSONB NOT NULL DEFAULT '{}'::jsonb",
  // Connections seen per device (Synapse's `user_ips`): one row per address, with the last
  // User-Agent seen from it (a client varying its User-Agent adds no rows).
  `CREATE TABLE IF NOT EXISTS device_connections (
    user_id    TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, ip),
    FOREIGN KEY (user_id, device_id) REFERENCES devices (user_id, device_id) ON DELETE CASCADE
  )`,
  // Only the SHA-256 of an OpenID token is kept; expired rows are swept by lookups.
  `CREATE TABLE IF NOT EXISTS openid_tokens (
    token_sha256 TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    expires_ts   BIGINT NOT NULL
  )`,
  // Guest localparts are numbers, handed out in order (as Synapse's).
  'CREATE SEQUENCE IF NOT EXISTS guest_localparts',
  `CREATE TABLE IF NOT EXISTS registration_nonces (
    nonce      TEXT PRIMARY KEY,
    expires_ts BIGINT NOT NULL
  )`,
];

export const ensureAccountSchema = (db: SqlDatabase): Promise<void> =>
  applySchema(db, 'strata.accounts.schema', ACCOUNT_SCHEMA);
