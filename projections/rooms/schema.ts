/**
 * Tables of the rooms read model (see README.md for what each column means and who reads it).
 * PostgreSQL dialect; PGlite runs the same DDL.
 */
export const ROOMS_TABLES = [
  'room_events', 'room_current_state', 'room_memberships', 'room_state_changes', 'room_redactions', 'rooms',
] as const;

export const ROOMS_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS room_events (
    event_id text PRIMARY KEY,
    room_id text NOT NULL,
    room_version text NOT NULL,
    log_partition integer NOT NULL,
    log_offset bigint NOT NULL,
    type text NOT NULL,
    state_key text,
    sender text NOT NULL,
    origin_server_ts bigint NOT NULL,
    depth bigint NOT NULL,
    pdu jsonb NOT NULL,
    redacted_because text,
    replaces_state text,
    local_user_id text,
    local_device_id text,
    local_txn_id text,
    accepted_at bigint NOT NULL
  )`,
  // The event's exact JSON when \`pdu\` cannot hold it: jsonb has no U+0000, so there each is U+FFFD.
  'ALTER TABLE room_events ADD COLUMN IF NOT EXISTS pdu_exact text',
  // An outlier (records.ts 'pdu.outlier') is held, never shown in a timeline; its row sits at its own record's offset.
  'ALTER TABLE room_events ADD COLUMN IF NOT EXISTS outlier boolean NOT NULL DEFAULT false',
  // records.ts `stateAfterDelta`: the state after a forked event, as changes to the room's state at its offset.
  'ALTER TABLE room_events ADD COLUMN IF NOT EXISTS state_after_delta jsonb',
  'CREATE UNIQUE INDEX IF NOT EXISTS room_events_position ON room_events (log_partition, log_offset)',
  'CREATE INDEX IF NOT EXISTS room_events_room_offset ON room_events (room_id, log_offset)',
  `CREATE INDEX IF NOT EXISTS room_events_txn ON room_events (room_id, local_user_id, local_device_id, local_txn_id)
    WHERE local_txn_id IS NOT NULL`,
  // A room's events by time, either way: /notifications pages newest first (unreadQueries.ts),
  // /timestamp_to_event looks both ways from a moment (relationQueries.ts).
  'CREATE INDEX IF NOT EXISTS room_events_room_ts ON room_events (room_id, origin_server_ts DESC, event_id DESC)',
  `CREATE TABLE IF NOT EXISTS room_current_state (
    room_id text NOT NULL,
    type text NOT NULL,
    state_key text NOT NULL,
    event_id text NOT NULL,
    log_offset bigint NOT NULL,
    PRIMARY KEY (room_id, type, state_key)
  )`,
  `CREATE TABLE IF NOT EXISTS room_memberships (
    room_id text NOT NULL,
    user_id text NOT NULL,
    membership text NOT NULL,
    event_id text NOT NULL,
    log_offset bigint NOT NULL,
    PRIMARY KEY (room_id, user_id)
  )`,
  'CREATE INDEX IF NOT EXISTS room_memberships_user ON room_memberships (user_id, membership)',
  `CREATE TABLE IF NOT EXISTS room_state_changes (
    room_id text NOT NULL,
    log_offset bigint NOT NULL,
    type text NOT NULL,
    state_key text NOT NULL,
    event_id text,
    replaces text,
    PRIMARY KEY (room_id, log_offset, type, state_key)
  )`,
  // History visibility reads one user's membership changes and the visibility changes of a room;
  // without this a large room's every membership change is read.
  'CREATE INDEX IF NOT EXISTS room_state_changes_key ON room_state_changes (room_id, type, state_key, log_offset)',
  `CREATE TABLE IF NOT EXISTS room_redactions (
    redaction_event_id text PRIMARY KEY,
    target_event_id text NOT NULL,
    room_id text NOT NULL,
    sender text NOT NULL,
    is_local boolean NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS room_redactions_target ON room_redactions (target_event_id)',
  // Since projection version 2 a row is a redaction awaiting its target (records.ts 'awaitsTarget'),
  // with the decider's `senderMayRedact`; a table created before gets the column here.
  'ALTER TABLE room_redactions ADD COLUMN IF NOT EXISTS sender_may_redact boolean NOT NULL DEFAULT false',
  // records.ts 'membership.outOfBand': what an invite to a room we are not in showed of the room.
  `CREATE TABLE IF NOT EXISTS room_stripped_state (
    event_id text PRIMARY KEY,
    room_id text NOT NULL,
    events jsonb NOT NULL
  )`,
  `CREATE TABLE IF NOT EXISTS rooms (
    room_id text PRIMARY KEY,
    room_version text NOT NULL,
    creator text NOT NULL,
    room_type text,
    log_partition integer NOT NULL,
    last_offset bigint NOT NULL,
    forward_extremities jsonb NOT NULL,
    max_depth bigint NOT NULL,
    last_event_id text
  )`,
  // Since projection version 4, the room's summary (sliding sync ranks and filters a user's rooms
  // from it without reading each room's state): the last activity's acceptance time, and name,
  // avatar, alias, encryption and member counts as of the current state.
  'ALTER TABLE rooms ADD COLUMN IF NOT EXISTS bump_stamp bigint',
  'ALTER TABLE rooms ADD COLUMN IF NOT EXISTS room_name text',
  'ALTER TABLE rooms ADD COLUMN IF NOT EXISTS room_avatar text',
  'ALTER TABLE rooms ADD COLUMN IF NOT EXISTS canonical_alias text',
  'ALTER TABLE rooms ADD COLUMN IF NOT EXISTS encrypted boolean NOT NULL DEFAULT false',
  'ALTER TABLE rooms ADD COLUMN IF NOT EXISTS joined_count integer NOT NULL DEFAULT 0',
  'ALTER TABLE rooms ADD COLUMN IF NOT EXISTS invited_count integer NOT NULL DEFAULT 0',
];
