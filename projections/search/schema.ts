/**
 * The full-text read model: one row per searchable field of an event (`content.body` of
 * m.room.message, `content.name` of m.room.name, `content.topic` of m.room.topic, as Synapse's
 * event_search). Each row carries what the searcher's filters and visible ranges need (log
 * offset, `url` presence), so matching and counting never read room_events; redaction (the
 * projection), erasure and retention (infra/erasure) delete rows. Only the tsvector is kept:
 * rendering reads the page's events from room_events.
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
    log_offset bigint NOT NULL,
    contains_url boolean NOT NULL,
    vector tsvector NOT NULL,
    PRIMARY KEY (event_id, key)
  )`,
  // A table of version 1 (without them) is emptied and rebuilt at start (the projection's version).
  'ALTER TABLE search_events ADD COLUMN IF NOT EXISTS log_offset bigint NOT NULL DEFAULT 0',
  'ALTER TABLE search_events ADD COLUMN IF NOT EXISTS contains_url boolean NOT NULL DEFAULT false',
  'CREATE INDEX IF NOT EXISTS search_events_vector ON search_events USING gin (vector)',
  'CREATE INDEX IF NOT EXISTS search_events_room_recent ON search_events (room_id, origin_server_ts, event_id)',
  // The newest rows of many rooms at once: a word in thousands of rows is found by walking back in
  // time (queries.ts). An index changes no row: created at start, no rebuild.
  'CREATE INDEX IF NOT EXISTS search_events_recent ON search_events (origin_server_ts, event_id)',
];
