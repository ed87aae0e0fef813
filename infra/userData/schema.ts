/**
 * Tables of the per-user data stores, in PostgreSQL's dialect (PGlite runs it too). Idempotent and
 * serialised by an advisory lock, so several processes may start at once.
 */
import type { SqlDatabase } from '../../domain/index.ts';
import { STREAMS } from './streams.ts';
import { applySchema } from '../postgres/index.ts';

export const USER_DATA_SCHEMA: readonly string[] = [
  // The committed position of each stream, written in the same transaction as the stream's rows.
  `CREATE TABLE IF NOT EXISTS stream_positions (
    stream   TEXT PRIMARY KEY,
    position BIGINT NOT NULL
  )`,
  ...STREAMS.map((stream) => `CREATE SEQUENCE IF NOT EXISTS ${stream}_stream_seq`),
  `CREATE TABLE IF NOT EXISTS account_data (
    user_id    TEXT NOT NULL,
    room_id    TEXT NOT NULL, -- '' for global account data
    type       TEXT NOT NULL,
    content    JSONB NOT NULL,
    stream_pos BIGINT NOT NULL,
    PRIMARY KEY (user_id, room_id, type)
  )`,
  'CREATE INDEX IF NOT EXISTS account_data_by_pos ON account_data (user_id, stream_pos)',
  `CREATE TABLE IF NOT EXISTS user_filters (
    user_id   TEXT NOT NULL,
    filter_id BIGINT NOT NULL,
    filter    JSONB NOT NULL,
    PRIMARY KEY (user_id, filter_id)
  )`,
  'CREATE SEQUENCE IF NOT EXISTS user_filters_seq',
  `CREATE TABLE IF NOT EXISTS receipts (
    room_id      TEXT NOT NULL,
    receipt_type TEXT NOT NULL,
    user_id      TEXT NOT NULL,
    thread_id    TEXT NOT NULL, -- '' for an unthreaded receipt
    event_id     TEXT NOT NULL,
    ts           BIGINT NOT NULL,
    stream_pos   BIGINT NOT NULL,
    PRIMARY KEY (room_id, receipt_type, user_id, thread_id)
  )`,
  'CREATE INDEX IF NOT EXISTS receipts_by_pos ON receipts (room_id, stream_pos)',
  `CREATE TABLE IF NOT EXISTS to_device_inbox (
    user_id    TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    stream_pos BIGINT NOT NULL,
    sender     TEXT NOT NULL,
    type       TEXT NOT NULL,
    content    JSONB NOT NULL,
    PRIMARY KEY (user_id, device_id, stream_pos)
  )`,
  // Transaction ids already used by a sending device (client-server-api § Transaction identifiers).
  `CREATE TABLE IF NOT EXISTS to_device_txns (
    user_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    txn_id    TEXT NOT NULL,
    stream_pos BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, txn_id)
  )`,
  `CREATE TABLE IF NOT EXISTS e2e_device_keys (
    user_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    keys      TEXT NOT NULL, -- the JSON as uploaded
    PRIMARY KEY (user_id, device_id)
  )`,
  `CREATE TABLE IF NOT EXISTS e2e_one_time_keys (
    user_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id    TEXT NOT NULL,
    key       TEXT NOT NULL, -- the JSON as uploaded
    PRIMARY KEY (user_id, device_id, algorithm, key_id)
  )`,
  `CREATE TABLE IF NOT EXISTS e2e_fallback_keys (
    user_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id    TEXT NOT NULL,
    key       TEXT NOT NULL, -- the JSON as uploaded
    used      BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (user_id, device_id, algorithm)
  )`,
  `CREATE TABLE IF NOT EXISTS device_list_changes (
    stream_pos BIGINT PRIMARY KEY,
    user_id    TEXT NOT NULL
  )`,
  // A user's latest changes: the stream_id and prev_id of the m.device_list_update EDUs we send.
  'CREATE INDEX IF NOT EXISTS device_list_changes_by_user ON device_list_changes (user_id, stream_pos)',
  `CREATE TABLE IF NOT EXISTS presence (
    user_id        TEXT PRIMARY KEY,
    presence       TEXT NOT NULL,
    status_msg     TEXT,
    last_active_ts BIGINT NOT NULL,
    stream_pos     BIGINT NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS presence_by_pos ON presence (stream_pos)',
  `CREATE TABLE IF NOT EXISTS e2e_cross_signing_keys (
    user_id  TEXT NOT NULL,
    key_type TEXT NOT NULL, -- master, self_signing or user_signing
    key      TEXT NOT NULL, -- the JSON as uploaded
    PRIMARY KEY (user_id, key_type)
  )`,
  `CREATE TABLE IF NOT EXISTS e2e_cross_signing_signatures (
    target_user_id TEXT NOT NULL,
    target_key_id  TEXT NOT NULL, -- a device id or a master public key
    signer_user_id TEXT NOT NULL,
    signer_key_id  TEXT NOT NULL,
    signature      TEXT NOT NULL,
    PRIMARY KEY (target_user_id, target_key_id, signer_user_id, signer_key_id)
  )`,
  `CREATE TABLE IF NOT EXISTS e2e_room_key_versions (
    user_id   TEXT NOT NULL,
    version   BIGINT NOT NULL,
    algorithm TEXT NOT NULL,
    auth_data TEXT NOT NULL, -- the JSON as uploaded (it carries signatures)
    etag      BIGINT NOT NULL DEFAULT 0,
    deleted   BOOLEAN NOT NULL DEFAULT FALSE, -- kept so version numbers are never reused
    PRIMARY KEY (user_id, version)
  )`,
  `CREATE TABLE IF NOT EXISTS e2e_room_keys (
    user_id             TEXT NOT NULL,
    version             BIGINT NOT NULL,
    room_id             TEXT NOT NULL,
    session_id          TEXT NOT NULL,
    first_message_index BIGINT NOT NULL,
    forwarded_count     BIGINT NOT NULL,
    is_verified         BOOLEAN NOT NULL,
    session_data        TEXT NOT NULL,
    PRIMARY KEY (user_id, version, room_id, session_id)
  )`,
  // pusher.yaml: one pusher per user, app_id and pushkey; `append` lets several users share one.
  `CREATE TABLE IF NOT EXISTS pushers (
    user_id             TEXT NOT NULL,
    app_id              TEXT NOT NULL,
    pushkey             TEXT NOT NULL,
    kind                TEXT NOT NULL,
    app_display_name    TEXT NOT NULL,
    device_display_name TEXT NOT NULL,
    profile_tag         TEXT NOT NULL,
    lang                TEXT NOT NULL,
    data                JSONB NOT NULL,
    device_id           TEXT NOT NULL,
    created_ts          BIGINT NOT NULL,
    PRIMARY KEY (user_id, app_id, pushkey)
  )`,
  'CREATE INDEX IF NOT EXISTS pushers_by_key ON pushers (app_id, pushkey)',
  // When the pushkey was last set (push-gateway-api `pushkey_ts`); null in rows from before it was kept.
  'ALTER TABLE pushers ADD COLUMN IF NOT EXISTS pushkey_ts BIGINT',
];

export const ensureUserDataSchema = (db: SqlDatabase): Promise<void> =>
  applySchema(db, 'strata.userData.schema', USER_DATA_SCHEMA);
