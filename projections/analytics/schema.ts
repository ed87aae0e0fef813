/**
 * The analytics warehouse: message METADATA only. No body, name, topic, reason or state key; of
 * an event's content only its msgtype, an m.room.member's membership, its relation (type and
 * thread root) and its size in bytes.
 *
 * The fact tables are ReplacingMergeTree ordered by the log (partition, offset) a row came from, so
 * a batch replayed after a crash collapses onto the rows already written; queries read them with
 * FINAL, which deduplicates before any background merge has run (18.16 and current servers alike).
 * The partition expression depends only on the row, so a replayed row lands beside its twin.
 *
 * The rollups are kept by ClickHouse itself: a materialized view per rollup folds every inserted
 * block into an AggregatingMergeTree. A replayed block reaches the views again, so every measure is
 * a set (uniqExact of event ids, senders, rooms): a duplicate adds nothing to a set, and merging
 * the states of several rows is their union, so counts stay exact under replays and may be summed
 * over any dimension of a rollup's key. Measures go through uniqExactState/uniqExactMerge only
 * (no -If combinator: its state type differs between 18.16 and current servers); what a -If would
 * filter is a key column instead (status, type, msgtype, state key presence, origin).
 */
import type { ClickHouseExecutor } from '../runtime/clickhousePositions.ts';
import { chIdentifier, chString } from '../runtime/index.ts';

export const ANALYTICS_EVENTS_TABLE = 'analytics_events';
export const ANALYTICS_REDACTIONS_TABLE = 'analytics_redactions';

/** analytics_events' columns, in order. Migrations add what an older table lacks (see migrateAnalytics). */
export const ANALYTICS_EVENT_COLUMNS: readonly (readonly [name: string, type: string])[] = [
  ['log_partition', 'UInt32'],
  ['log_offset', 'UInt64'],
  ['room_id', 'String'],
  ['room_version', 'String'],
  ['event_id', 'String'],
  ['event_type', 'String'],
  ['msgtype', 'String'],
  ['has_state_key', 'UInt8'],
  ['membership', 'String'],
  ['encrypted', 'UInt8'],
  ['relation_type', 'String'],
  ['thread_root', 'String'],
  ['content_bytes', 'UInt32'],
  ['sender', 'String'],
  ['sender_server', 'String'],
  ['origin', 'String'],
  ['origin_server_ts', "DateTime('UTC')"],
  ['origin_server_ms', 'UInt64'],
  // When this server received the event (accepted, soft-failed or rejected it).
  ['accepted_at', "DateTime('UTC')"],
  ['status', 'String'],
];

/** Columns of earlier versions this one no longer writes (is_local became origin). */
const DEAD_EVENT_COLUMNS: readonly string[] = ['is_local'];

const FACT_TABLES: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS ${ANALYTICS_EVENTS_TABLE} (
    ${ANALYTICS_EVENT_COLUMNS.map(([name, type]) => `${name} ${type}`).join(',\n    ')}
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

interface Rollup {
  readonly table: string;
  readonly source: string;
  /** Key columns: name, type, and the expression over the source row. */
  readonly keys: readonly (readonly [name: string, type: string, expression: string])[];
  /** Set measures: name and the source column whose distinct values it counts. */
  readonly sets: readonly (readonly [name: string, column: string])[];
  readonly where?: string;
  /** The key column that partitions the table by month. */
  readonly time: string;
}

const HOUR = ['hour', "DateTime('UTC')", 'toStartOfHour(origin_server_ts)'] as const;
const DAY = ['day', 'Date', 'toDate(origin_server_ts)'] as const;
const MONTH = ['month', 'Date', 'toStartOfMonth(origin_server_ts)'] as const;
const column = (name: string, type = 'String') => [name, type, name] as const;
const EVENT_KIND = [column('status'), column('event_type'), column('msgtype'), column('has_state_key', 'UInt8'), column('origin')] as const;

/**
 * Rejected events name no sender: they count in the room rollups only, where their empty sender is
 * one member of `senders` (read senders of accepted or soft-failed events).
 */
const HAS_SENDER = "sender != ''";

export const ANALYTICS_ROLLUPS: readonly Rollup[] = [
  { table: 'analytics_room_hourly', source: ANALYTICS_EVENTS_TABLE, time: 'hour',
    keys: [column('room_id'), HOUR, ...EVENT_KIND], sets: [['events', 'event_id'], ['senders', 'sender']] },
  { table: 'analytics_room_daily', source: ANALYTICS_EVENTS_TABLE, time: 'day',
    keys: [column('room_id'), DAY, ...EVENT_KIND], sets: [['events', 'event_id'], ['senders', 'sender']] },
  { table: 'analytics_sender_daily', source: ANALYTICS_EVENTS_TABLE, time: 'day', where: HAS_SENDER,
    keys: [column('sender'), column('sender_server'), DAY, ...EVENT_KIND], sets: [['events', 'event_id'], ['rooms', 'room_id']] },
  { table: 'analytics_server_daily', source: ANALYTICS_EVENTS_TABLE, time: 'day', where: HAS_SENDER,
    keys: [column('sender_server'), DAY, ...EVENT_KIND],
    sets: [['events', 'event_id'], ['senders', 'sender'], ['rooms', 'room_id']] },
  // Active users: those who sent an accepted event that day or month (by origin: local, bridged, federated).
  { table: 'analytics_active_users_daily', source: ANALYTICS_EVENTS_TABLE, time: 'day', where: `status = 'accepted' AND ${HAS_SENDER}`,
    keys: [DAY, column('origin')], sets: [['users', 'sender']] },
  { table: 'analytics_active_users_monthly', source: ANALYTICS_EVENTS_TABLE, time: 'month', where: `status = 'accepted' AND ${HAS_SENDER}`,
    keys: [MONTH, column('origin')], sets: [['users', 'sender']] },
  // Redactions by when this server accepted them: the events they redacted, per room.
  { table: 'analytics_room_redactions_hourly', source: ANALYTICS_REDACTIONS_TABLE, time: 'hour',
    keys: [column('room_id'), ['hour', "DateTime('UTC')", 'toStartOfHour(redacted_at)']], sets: [['redacted', 'redacts_event_id']] },
  { table: 'analytics_room_redactions_daily', source: ANALYTICS_REDACTIONS_TABLE, time: 'day',
    keys: [column('room_id'), ['day', 'Date', 'toDate(redacted_at)']], sets: [['redacted', 'redacts_event_id']] },
];

const rollupTable = (rollup: Rollup): string => `CREATE TABLE IF NOT EXISTS ${rollup.table} (
    ${[...rollup.keys.map(([name, type]) => `${name} ${type}`), ...rollup.sets.map(([name]) => `${name} AggregateFunction(uniqExact, String)`)].join(',\n    ')}
  ) ENGINE = AggregatingMergeTree() PARTITION BY toYYYYMM(${rollup.time}) ORDER BY (${rollup.keys.map(([name]) => name).join(', ')})`;

/** `TO` a table of our own, so a rebuild can TRUNCATE it; a view's name says which table it feeds. */
const rollupView = (rollup: Rollup): string => `CREATE MATERIALIZED VIEW IF NOT EXISTS ${rollup.table}_mv TO ${rollup.table} AS
  SELECT ${[...rollup.keys.map(([name, , expression]) => (expression === name ? name : `${expression} AS ${name}`)),
    ...rollup.sets.map(([name, source]) => `uniqExactState(${source}) AS ${name}`)].join(', ')}
  FROM ${rollup.source}${rollup.where === undefined ? '' : ` WHERE ${rollup.where}`}
  GROUP BY ${rollup.keys.map(([name]) => name).join(', ')}`;

export const ANALYTICS_ROLLUP_TABLES: readonly string[] = ANALYTICS_ROLLUPS.map((rollup) => rollup.table);
export const ANALYTICS_ROLLUP_VIEWS: readonly string[] = ANALYTICS_ROLLUPS.map(rollupView);

/** Tables first: the views are created by migrateAnalytics, once analytics_events has every column they read. */
export const ANALYTICS_SCHEMA: readonly string[] = [...FACT_TABLES, ...ANALYTICS_ROLLUPS.map(rollupTable)];

export const ANALYTICS_TABLES: readonly string[] = [ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE, ...ANALYTICS_ROLLUP_TABLES];

const columnsOf = async (ch: ClickHouseExecutor, table: string): Promise<Set<string>> => new Set((await ch.query<{ name: string }>(
  `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ${chString(table)}`)).map((row) => row.name));

/**
 * Brings an analytics_events table of an earlier version to this shape, then creates the rollup
 * views. 18.16 has no ADD/DROP COLUMN IF [NOT] EXISTS, so the columns are compared first; another
 * member running the same migration at once may win a race, which is why a failed ALTER is
 * forgiven when the column ends up as wanted. Idempotent: a second run changes nothing.
 */
export const migrateAnalytics = async (ch: ClickHouseExecutor): Promise<void> => {
  const alter = async (statement: string, done: (columns: Set<string>) => boolean): Promise<void> => {
    try {
      await ch.exec(statement);
    } catch (error) {
      if (!done(await columnsOf(ch, ANALYTICS_EVENTS_TABLE))) throw error;
    }
  };
  const existing = await columnsOf(ch, ANALYTICS_EVENTS_TABLE);
  for (const [name, type] of ANALYTICS_EVENT_COLUMNS) {
    if (existing.has(name)) continue;
    await alter(`ALTER TABLE ${chIdentifier(ANALYTICS_EVENTS_TABLE)} ADD COLUMN ${chIdentifier(name)} ${type}`, (now) => now.has(name));
  }
  for (const name of DEAD_EVENT_COLUMNS) {
    if (!existing.has(name)) continue;
    await alter(`ALTER TABLE ${chIdentifier(ANALYTICS_EVENTS_TABLE)} DROP COLUMN ${chIdentifier(name)}`, (now) => !now.has(name));
  }
  for (const view of ANALYTICS_ROLLUP_VIEWS) await ch.exec(view);
};

/** Event status values in analytics_events.status. */
export type AnalyticsStatus = 'accepted' | 'soft_failed' | 'rejected';

/** Where an event came from: this server's users, its application services' users, or another server. */
export type AnalyticsOrigin = 'local' | 'bridged' | 'federated';
