/**
 * The analytics tables: message METADATA only. No body, no content field other than the
 * membership of an m.room.member event, no state key (only whether there is one).
 *
 * Both tables are ReplacingMergeTree ordered by the log (partition, offset) a row came from, so a
 * batch replayed after a crash collapses onto the rows already written; queries read them with
 * FINAL, which deduplicates before any background merge has run (18.16 and current servers alike).
 * The partition expression depends only on the row, so a replayed row lands beside its twin.
 */
export const ANALYTICS_EVENTS_TABLE = 'analytics_events';
export const ANALYTICS_REDACTIONS_TABLE = 'analytics_redactions';

export const ANALYTICS_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ${ANALYTICS_EVENTS_TABLE} (
    log_partition UInt32,
    log_offset UInt64,
    room_id String,
    event_id String,
    event_type String,
    has_state_key UInt8,
    membership String,
    sender String,
    sender_server String,
    origin_server_ts DateTime('UTC'),
    origin_server_ms UInt64,
    accepted_at DateTime('UTC'),
    is_local UInt8,
    status String
  ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(accepted_at) ORDER BY (log_partition, log_offset)`,
  `CREATE TABLE IF NOT EXISTS ${ANALYTICS_REDACTIONS_TABLE} (
    log_partition UInt32,
    log_offset UInt64,
    room_id String,
    redaction_event_id String,
    redacts_event_id String,
    redacted_at DateTime('UTC')
  ) ENGINE = ReplacingMergeTree() PARTITION BY toYYYYMM(redacted_at) ORDER BY (log_partition, log_offset)`,
];

export const ANALYTICS_TABLES: readonly string[] = [ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE];

/** Event status values in analytics_events.status. */
export type AnalyticsStatus = 'accepted' | 'soft_failed' | 'rejected';
