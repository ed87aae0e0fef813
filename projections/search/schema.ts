/**
 * The full-text read model: one row per searchable field of an event (`content.body` of
 * m.room.message, `content.name` of m.room.name, `content.topic` of m.room.topic, as Synapse's
 * event_search). Only the tsvector is kept: rendering reads the event from room_events, which
 * redaction, erasure and retention rewrite, so a row whose field is gone there is never a result.
 */
export const SEARCH_TABLES = ['search_events'] as const;

export const SEARCH_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS search_events (
    event_id text NOT NULL,
    room_id text NOT NULL,
    key text NOT NULL,
    sender text NOT NULL,
    type text NOT NULL,
    is_state boolean NOT NULL,
    origin_server_ts bigint NOT NULL,
    vector tsvector NOT NULL,
    PRIMARY KEY (event_id, key)
  )`,
  'CREATE INDEX IF NOT EXISTS search_events_vector ON search_events USING gin (vector)',
  'CREATE INDEX IF NOT EXISTS search_events_room_recent ON search_events (room_id, origin_server_ts, event_id)',
];
