/**
 * `npm run rebuild -- <name>... | --all`: rebuilds read models from offset 0 of the room log, and
 * resets the senders' positions, with a progress bar each (USAGE says what each name does).
 *
 * The server must be stopped: the CLI opens the log and the database as the server does, taking
 * the same data directory lock (embedded log or PGlite) or writer lease (Kafka), so a running
 * server makes it stop at once with exit code 3 — and a server started during a rebuild is refused.
 */
import { APPSERVICE_SENDER_NAME, APPSERVICE_SENDER_POSITIONS } from '../appservices/sender/index.ts';
import type { ClickHouse } from '../clickhouse/index.ts';
import { FEDERATION_SENDER_NAME, FEDERATION_SENDER_POSITIONS } from '../federation/sender/index.ts';
import { PUSH_SENDER_NAME, PUSH_SENDER_POSITIONS } from '../pushGateway/index.ts';
import { analyticsProjection } from '../../projections/analytics/index.ts';
import { roomsProjection } from '../../projections/rooms/index.ts';
import { SEARCH_PROJECTION_NAME, searchProjectionFor } from '../../projections/search/index.ts';
import {
  POSITIONS_SCHEMA, rebuildClickHouseProjection, rebuildProjection, type RebuildProgress, type SenderPositions,
} from '../../projections/runtime/index.ts';
import { ROOM_EVENTS_TOPIC, type RoomLog, type SqlDatabase } from '../../domain/index.ts';
import { loadConfig, type StrataConfig } from '../config/index.ts';
import { createErasure, withContentKeyBindings } from '../erasure/index.ts';
import { createLogger } from '../observability/index.ts';
import { InUseError, openClickHouse, openReadModels, openRoomLog, reasonOf } from '../server/index.ts';
import { createProgressBar } from './progress.ts';

const USAGE = `usage: npm run rebuild -- <name>... | --all

Rebuilds from the room log, with the configuration the server reads (STRATA_* variables,
STRATA_CONFIG). Stop the server first.

  rooms              the rooms read model, from offset 0
  search             the full-text search projection, from offset 0
  analytics          the ClickHouse warehouse, from offset 0: its tables and rollups are
                     emptied and the rollups refill through their materialized views
                     (needs clickhouse_url)
  push               the push sender's positions (also: push_gateway)
  federation_sender  the federation sender's positions
  appservice_sender  the appservice sender's positions
  --all              all of them in this order (analytics only if ClickHouse is configured)

A sender acts on the world: replayed from offset 0 it would push, federate and bridge all of
history again. Its rebuild sets its positions to the log's end instead, as at its first start.
What it had already queued is still delivered (federation catch-up rows and durable EDUs, the
appservice queue and transactions in flight); records its old positions had not reached are
skipped, and their number is printed.

Progress goes to stderr: one redrawn line on a terminal, a plain line every 5 s otherwise.
Exit codes: 0 done; 1 failed (the message says why; run it again to start over);
2 bad usage, or analytics without ClickHouse; 3 the server (another Strata process) holds the
data directory or the writer lease: stop it first.
`;

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_IN_USE = 3;

interface Opened {
  readonly config: StrataConfig;
  readonly log: RoomLog;
  readonly db: SqlDatabase;
  readonly clickhouse: ClickHouse | null;
}

interface Target {
  readonly name: string;
  /** Runs with `onProgress` for the bar; resolves with the line that says what was done. */
  run(opened: Opened, onProgress: (progress: RebuildProgress) => void): Promise<string>;
}

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

const sender = (name: string, positions: SenderPositions): Target => ({
  name,
  run: async ({ db, log }, onProgress) => {
    await db.query(POSITIONS_SCHEMA);
    const { total, skipped } = await positions.resetToEnd(db, log, ROOM_EVENTS_TOPIC, onProgress);
    return `${name}: positions set to the log's end (${total} records); `
      + (skipped === 0 ? 'the old positions had reached it, nothing skipped' : `${skipped} records the old positions had not reached will not be sent`);
  },
});

/** Every target, in the order --all runs them: read models first, then the senders that read them. */
const TARGETS: readonly Target[] = [
  {
    name: roomsProjection.name,
    run: async ({ log, db }, onProgress) => {
      const started = Date.now();
      // As the server runs it: binding content keys a crash left unbound too (erasure.md).
      const { done } = await rebuildProjection({ projection: withContentKeyBindings(roomsProjection), log, db, onProgress });
      return `rebuilt ${roomsProjection.name} from ${done} records in ${seconds(started)}`;
    },
  },
  {
    name: SEARCH_PROJECTION_NAME,
    run: async ({ config, log, db }, onProgress) => {
      const started = Date.now();
      const { done } = await rebuildProjection({ projection: searchProjectionFor(config.searchLanguage), log, db, onProgress });
      return `rebuilt ${SEARCH_PROJECTION_NAME} from ${done} records in ${seconds(started)}`;
    },
  },
  {
    name: 'analytics',
    run: async ({ config, log, clickhouse }, onProgress) => {
      if (clickhouse === null) throw new Error('analytics needs ClickHouse (clickhouse_url)');
      const started = Date.now();
      const { done } = await rebuildClickHouseProjection({ projection: analyticsProjection(config.serverName, config.appservices), log, clickhouse, onProgress });
      return `rebuilt analytics from ${done} records in ${seconds(started)} (ClickHouse ${clickhouse.database})`;
    },
  },
  sender(PUSH_SENDER_NAME, PUSH_SENDER_POSITIONS),
  sender(FEDERATION_SENDER_NAME, FEDERATION_SENDER_POSITIONS),
  sender(APPSERVICE_SENDER_NAME, APPSERVICE_SENDER_POSITIONS),
];

const ALIASES: ReadonlyMap<string, string> = new Map([['push', PUSH_SENDER_NAME]]);

function exit(code: number, message: string): never {
  process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
  process.exit(code);
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) exit(0, USAGE);
let config: StrataConfig;
try {
  config = loadConfig(process.env);
} catch (error) {
  exit(EXIT_USAGE, `strata: ${reasonOf(error)}`);
}
const all = args.includes('--all');
const names = [...new Set(args.filter((arg) => arg !== '--all').map((arg) => ALIASES.get(arg) ?? arg))];
const unknown = names.filter((name) => !TARGETS.some((target) => target.name === name));
if ((all ? names.length > 0 : names.length === 0) || unknown.length > 0) {
  exit(EXIT_USAGE, `${unknown.length > 0 ? `unknown: ${unknown.join(', ')}\n` : ''}${USAGE}`);
}
const selected = all
  ? TARGETS.filter((target) => target.name !== 'analytics' || config.clickhouse !== undefined)
  : TARGETS.filter((target) => names.includes(target.name));
if (selected.some((target) => target.name === 'analytics') && config.clickhouse === undefined) {
  exit(EXIT_USAGE, 'strata: analytics lives in ClickHouse, which is not configured (clickhouse_url / STRATA_CLICKHOUSE_URL)');
}
if (all && config.clickhouse === undefined) process.stderr.write('analytics: ClickHouse is not configured, skipped\n');

const opened: Partial<{ log: RoomLog; db: SqlDatabase; clickhouse: ClickHouse | null }> = {};
let code = 0;
try {
  const logger = createLogger({ level: 'warn' });
  // First, so that a running server is found before anything is touched.
  const { log: plainLog } = await openRoomLog(config, logger);
  opened.log = plainLog;
  // The server creates the topic; a rebuild never does (it would fix its partition count).
  await plainLog.partitionCount(ROOM_EVENTS_TOPIC).catch((error: unknown) => {
    throw new Error(`cannot read the room log's ${ROOM_EVENTS_TOPIC} topic; has a server run with this configuration? (${reasonOf(error)})`);
  });
  const { db } = await openReadModels(config);
  opened.db = db;
  // Sealed content is opened with the keys beside the read models (docs/erasure.md); the key store
  // is no projection's table, so the rebuild leaves it as it is.
  const erasure = await createErasure({
    db, topic: ROOM_EVENTS_TOPIC, redactionRetentionMs: config.redactionRetentionMs, retention: config.retention,
    now: () => Date.now(), logger,
  });
  const log = erasure.seal(plainLog);
  const clickhouse = selected.some((target) => target.name === 'analytics') ? await openClickHouse(config) : null;
  opened.clickhouse = clickhouse;
  for (const target of selected) {
    const bar = createProgressBar({ label: `rebuild ${target.name}` });
    const summary = await target.run({ config: config, log, db, clickhouse }, ({ done, total }) => bar.update(done, total));
    bar.finish();
    process.stderr.write(`${summary}\n`);
  }
} catch (error) {
  code = error instanceof InUseError ? EXIT_IN_USE : EXIT_FAILED;
  process.stderr.write(error instanceof InUseError
    ? `strata: rebuild refused, the server seems to be running: ${reasonOf(error)}\n`
    : `strata: rebuild failed: ${reasonOf(error)}\n`);
} finally {
  await opened.clickhouse?.close().catch(() => undefined);
  await opened.db?.close().catch(() => undefined);
  await opened.log?.close().catch(() => undefined);
}
process.exit(code);
