/**
 * `npm run bench analytics [-- options]`: a synthetic room log of N events written to a Kafka topic
 * of its own, consumed by the rooms projection (PostgreSQL timeline) and the analytics projection
 * (ClickHouse warehouse) as a server runs them; then five analyst questions asked of both stores.
 * Prints ingest rates and the questions' latencies side by side, as ratios. See docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, totalmem } from 'node:os';
import pg from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { ROOM_EVENTS_TOPIC, type AppserviceRegistration, type LogRecordToAppend, type RoomLog } from '../../../domain/index.ts';
import { analyticsProjection, startClickHouseProjection } from '../../../projections/analytics/index.ts';
import {
  ensureRelationIndexes, ensureSyncIndexes, roomsProjection,
} from '../../../projections/rooms/index.ts';
import { createSupervisor, startProjection, type ProjectionMetrics, type RunningConsumer } from '../../../projections/runtime/index.ts';
import { createClickHouse, type ClickHouse } from '../../../infra/clickhouse/index.ts';
import { createErasure } from '../../../infra/erasure/index.ts';
import { createKafkaLog, withNamespace } from '../../../infra/kafka/index.ts';
import { createLogger } from '../../../infra/observability/index.ts';
import { createPostgresDatabase } from '../../../infra/postgres/index.ts';
import { formatMs, percentile } from '../cs/stats.ts';
import { printTable } from '../measure.ts';
import { ANALYTICS_MIX, BRIDGED_LOCALPART_PREFIX, createCorpus, type CorpusStats } from './corpus.ts';
import { parseAnalyticsBenchArgs, usage, type AnalyticsBenchOptions } from './options.ts';
import { createProgress } from './progress.ts';
import { analystQuestions, answersOf, disagreement, type Answer, type Question } from './questions.ts';
import { benchOptions, loadAverage, startWatchdog } from '../runner.ts';

const say = (line: string) => void process.stderr.write(`${line}\n`);
const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
const count = (n: number) => Math.round(n).toLocaleString('en-US');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const SERVER_NAME = 'bench.example';

/** The bench bridge: its namespace makes a twentieth of local users' events 'bridged'. */
const BRIDGE: AppserviceRegistration = {
  id: 'bench-bridge', url: null, asToken: 'unused', hsToken: 'unused', senderLocalpart: 'bridgebot', sender: `@bridgebot:${SERVER_NAME}`,
  namespaces: { users: [{ source: `@${BRIDGED_LOCALPART_PREFIX}.*`, regex: new RegExp(`^@${BRIDGED_LOCALPART_PREFIX}.*`), exclusive: true }], aliases: [], rooms: [] },
  rateLimited: false, protocols: [], receiveEphemeral: false, msc3202: false, source: 'bench',
};

const dropClickHouseDatabase = async (clickhouseUrl: string, database: string): Promise<void> => {
  const url = new URL(clickhouseUrl);
  const headers: Record<string, string> = {};
  if (url.username !== '') headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  url.username = '';
  url.password = '';
  const response = await fetch(url, { method: 'POST', headers, body: `DROP DATABASE IF EXISTS ${database}`, signal: AbortSignal.timeout(3_600_000) });
  if (!response.ok) throw new Error(`ClickHouse: DROP DATABASE ${database}: ${response.status} ${(await response.text()).trim()}`);
};

interface Stores {
  readonly log: RoomLog;
  readonly db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  readonly ch: ClickHouse;
  /** What ran where, for the output; the ingest adds what it stored. */
  readonly describe: string[];
}

/** Creates the run's database, ClickHouse database and topic; each cleanup step is queued as it is created. */
const openStores = async (options: AnalyticsBenchOptions, id: string, cleanups: (() => Promise<void>)[]): Promise<Stores> => {
  const database = `strata_bench_analytics_${id}`;
  const namespace = `bench-analytics-${id}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: options.postgresUrl });
    await client.connect();
    try {
      return await client.query<Record<string, unknown>>(sql);
    } finally {
      await client.end();
    }
  };
  const postgresVersion = String((await admin('SHOW server_version')).rows[0]?.server_version ?? '?');
  await admin(`CREATE DATABASE ${database}`);
  // After the run's own pools closed. Not WITH (FORCE): an autovacuum worker on the freshly loaded
  // tables belongs to the superuser, whom the bench's account may not terminate; it ends soon, so wait.
  if (!options.keep) {
    cleanups.push(async () => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          await admin(`DROP DATABASE IF EXISTS ${database}`);
          return;
        } catch (error) {
          if (attempt >= 60 || (error as { code?: string }).code !== '55006') throw error;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    });
  }
  const url = new URL(options.postgresUrl);
  url.pathname = `/${database}`;
  const db = await createPostgresDatabase({ url: url.toString() });
  cleanups.push(() => db.close());

  const ch = await createClickHouse({ url: options.clickhouseUrl, database });
  cleanups.push(() => ch.close());
  // Cleanups run last first: the drop before the close. Dropping a million rows and their rollups
  // took 4 minutes on a loaded 18.16, beyond the client's request timeout: over plain HTTP, bounded by an hour.
  if (!options.keep) cleanups.push(() => dropClickHouseDatabase(options.clickhouseUrl, database));
  const clickhouseVersion = String((await ch.query<{ v: string }>('SELECT version() AS v'))[0]?.v ?? '?');

  const kafka = await createKafkaLog({ brokers: options.kafkaBrokers.split(','), clientId: `bench-analytics-${id}` });
  cleanups.push(() => kafka.close());
  if (!options.keep) {
    cleanups.push(async () => {
      const kafkaAdmin = new Kafka({ brokers: options.kafkaBrokers.split(','), clientId: `bench-analytics-cleanup-${id}`, logLevel: logLevel.NOTHING }).admin();
      await kafkaAdmin.connect();
      try {
        const groups = (await kafkaAdmin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(`${namespace}.`));
        if (groups.length > 0) await kafkaAdmin.deleteGroups(groups);
        const topics = (await kafkaAdmin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
        if (topics.length > 0) await kafkaAdmin.deleteTopics({ topics });
      } finally {
        await kafkaAdmin.disconnect();
      }
    });
  }
  let log: RoomLog = withNamespace(kafka, namespace);
  await log.ensureTopic(ROOM_EVENTS_TOPIC, options.partitions);
  if (options.sealed) {
    const erasure = await createErasure({
      db, topic: ROOM_EVENTS_TOPIC, redactionRetentionMs: null, retention: null, now: () => Date.now(), logger: createLogger({ level: 'warn' }),
    });
    log = erasure.seal(log);
  }
  return {
    log, db, ch,
    describe: [
      `log: Kafka ${options.kafkaBrokers}, topic ${namespace}.${ROOM_EVENTS_TOPIC} (${options.partitions} partitions), ${options.sealed ? 'content sealed as a server seals it (keys in PostgreSQL)' : 'plain records (--unsealed)'}`,
      `timeline: PostgreSQL ${postgresVersion}, database ${database} (rooms projection, with the indexes a server creates)`,
      `warehouse: ClickHouse ${clickhouseVersion}, database ${database} (analytics projection and its rollups)`,
    ],
  };
};

/** Phase 1: the corpus into the log, one append in flight while the next batch is generated. */
const writeCorpus = async (options: AnalyticsBenchOptions, log: RoomLog, signal: AbortSignal) => {
  const toMs = Date.now();
  const corpus = createCorpus({
    events: options.events, rooms: options.rooms, senders: options.senders, remoteServers: options.remoteServers,
    serverName: SERVER_NAME, fromMs: toMs - options.days * 86_400_000, toMs, seed: options.seed, mix: ANALYTICS_MIX,
  });
  const progress = createProgress('writing the log', options.events);
  const started = performance.now();
  let written = 0;
  let inFlight: Promise<unknown> = Promise.resolve();
  for (;;) {
    if (signal.aborted) throw new Error('stopped');
    const batch: LogRecordToAppend[] = [];
    for (let record = corpus.next(); record !== undefined; record = batch.length < options.appendBatch ? corpus.next() : undefined) {
      batch.push({ key: record.key, value: record.value, headers: record.headers });
    }
    await inFlight;
    progress.update(written);
    if (batch.length === 0) break;
    inFlight = log.append(ROOM_EVENTS_TOPIC, batch).then(() => {
      written += batch.length;
    });
  }
  progress.finish(written);
  return { corpus, toMs, seconds: (performance.now() - started) / 1000 };
};

interface Ingested {
  readonly label: string;
  readonly seconds: number;
  readonly records: number;
  readonly rows: number;
}

/** Phase 2: both projections from offset 0 at once, as a server starting on this log runs them. */
const ingest = async (options: AnalyticsBenchOptions, stores: Stores, signal: AbortSignal): Promise<Ingested[]> => {
  const { log, db, ch } = stores;
  let total = 0;
  for (let partition = 0; partition < options.partitions; partition += 1) total += await log.endOffset(ROOM_EVENTS_TOPIC, partition);
  const positions = new Map<string, Map<number, number>>([['rooms', new Map()], ['analytics', new Map()]]);
  const metrics: ProjectionMetrics = { onBatch: (name, partition, next) => positions.get(name)?.set(partition, next) };
  const applied = (name: string) => [...(positions.get(name)?.values() ?? [])].reduce((sum, next) => sum + next, 0);
  const supervisor = createSupervisor({ logger: { info: () => undefined, warn: (fields, text) => say(`warn: ${text} ${JSON.stringify(fields)}`), error: (fields, text) => say(`error: ${text} ${JSON.stringify(fields)}`) } });
  // The timeline's indexes exist before it fills, as on a server.
  for (const statement of roomsProjection.schema) await db.query(statement);
  for (const ensure of [ensureSyncIndexes, ensureRelationIndexes]) await ensure(db);
  const started = performance.now();
  const running: RunningConsumer[] = [
    await startProjection({ projection: roomsProjection, log, db, metrics, supervisor }),
    await startClickHouseProjection({ projection: analyticsProjection(SERVER_NAME, [BRIDGE]), log, clickhouse: ch, metrics, supervisor }),
  ];
  const finished = new Map<string, number>();
  const shares = () => `rooms ${count(applied('rooms'))}, analytics ${count(applied('analytics'))}`;
  const progress = createProgress('ingesting (rooms + analytics)', 2 * total);
  const failed = Promise.race(running.map((run) => run.done.then(() => new Promise<never>(() => undefined))));
  try {
    while (finished.size < 2) {
      if (signal.aborted) throw new Error('stopped');
      await Promise.race([sleep(200), failed]);
      for (const name of ['rooms', 'analytics']) if (!finished.has(name) && applied(name) >= total) finished.set(name, (performance.now() - started) / 1000);
      progress.update(applied('rooms') + applied('analytics'), shares());
    }
    progress.finish(applied('rooms') + applied('analytics'), shares());
  } finally {
    for (const run of running) await run.stop().catch(() => undefined);
  }
  const timelineRows = Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM room_events')).rows[0]?.n ?? 0);
  const warehouseRows = (await ch.query<{ n: number }>('SELECT count() AS n FROM analytics_events FINAL'))[0]?.n ?? 0;
  const redactionRows = (await ch.query<{ n: number }>('SELECT count() AS n FROM analytics_redactions FINAL'))[0]?.n ?? 0;
  const postgresBytes = Number((await db.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n')).rows[0]?.n ?? 0);
  const clickhouseBytes = (await ch.query<{ n: number }>('SELECT sum(bytes_on_disk) AS n FROM system.parts WHERE database = currentDatabase() AND active'))[0]?.n ?? 0;
  say(`storage: PostgreSQL database ${(postgresBytes / 2 ** 30).toFixed(2)} GiB, ClickHouse ${(clickhouseBytes / 2 ** 20).toFixed(0)} MiB`);
  stores.describe.push(`storage after ingest: PostgreSQL database ${(postgresBytes / 2 ** 30).toFixed(2)} GiB (timeline${options.sealed ? ', content keys' : ''}), ClickHouse database ${(clickhouseBytes / 2 ** 20).toFixed(0)} MiB`);
  return [
    { label: 'rooms projection → PostgreSQL timeline', seconds: finished.get('rooms')!, records: total, rows: timelineRows },
    { label: 'analytics projection → ClickHouse', seconds: finished.get('analytics')!, records: total, rows: warehouseRows + redactionRows },
  ];
};

interface Timings {
  readonly clickhouse: number[];
  readonly postgres: number[];
  agreement?: string;
}

const timed = async (work: () => Promise<Answer[]>): Promise<{ ms: number; answers: Answer[] }> => {
  const started = performance.now();
  const answers = await work();
  return { ms: performance.now() - started, answers };
};

/**
 * Right after an ingest ClickHouse is still merging the many small parts the batches made, and a
 * query reads every part: the questions wait (up to `maxSeconds`) until the run's merges are done,
 * as an analyst asks a warehouse that has settled. Answers what was left.
 */
const settleMerges = async (ch: ClickHouse, maxSeconds: number): Promise<string> => {
  const started = performance.now();
  const parts = async () => (await ch.query<{ n: number }>('SELECT count() AS n FROM system.parts WHERE database = currentDatabase() AND active'))[0]?.n ?? 0;
  const before = await parts();
  // Quiet for three polls in a row: the merge scheduler may pause a moment between merges.
  let quiet = 0;
  for (;;) {
    const merging = (await ch.query<{ n: number }>('SELECT count() AS n FROM system.merges WHERE database = currentDatabase()'))[0]?.n ?? 0;
    quiet = merging === 0 ? quiet + 1 : 0;
    const seconds = (performance.now() - started) / 1000;
    if (quiet >= 3 || seconds >= maxSeconds) {
      return `${before} active parts after the ingest, ${await parts()} after ${seconds.toFixed(0)} s of merging${merging === 0 ? '' : ` (${merging} merges still running)`}`;
    }
    await sleep(1000);
  }
};

/** Phase 3: each question once to warm up (and compare answers), then alternately on each store. */
const askQuestions = async (options: AnalyticsBenchOptions, stores: Stores, questions: readonly Question[]): Promise<Map<Question, Timings>> => {
  const askClickHouse = async (question: Question) => {
    const answers: Answer[] = [];
    for (const sql of question.clickhouse) answers.push(...answersOf(await stores.ch.query(sql)));
    return answers;
  };
  const askPostgres = async (question: Question) => {
    const answers: Answer[] = [];
    for (const statement of question.postgres) answers.push(...answersOf((await stores.db.query(statement.text, statement.values)).rows));
    return answers;
  };
  const results = new Map<Question, Timings>();
  for (const question of questions) {
    const timings: Timings = { clickhouse: [], postgres: [] };
    const [ch, pgAnswer] = [await timed(() => askClickHouse(question)), await timed(() => askPostgres(question))];
    const differs = disagreement(question, ch.answers, pgAnswer.answers);
    timings.agreement = differs === undefined ? `yes (${count(ch.answers.length)} rows)` : `NO: ${differs}`;
    for (let i = 0; i < options.repetitions; i += 1) {
      timings.clickhouse.push((await timed(() => askClickHouse(question))).ms);
      timings.postgres.push((await timed(() => askPostgres(question))).ms);
    }
    say(`asked: ${question.name}: ClickHouse p50 ${formatMs(percentile([...timings.clickhouse].sort((a, b) => a - b), 50))}, PostgreSQL p50 ${formatMs(percentile([...timings.postgres].sort((a, b) => a - b), 50))}`);
    results.set(question, timings);
  }
  return results;
};

const corpusLine = (stats: CorpusStats): string =>
  `${count(stats.records)} records: ${count(stats.rooms)} rooms, ${count(stats.messages)} messages, ${count(stats.encrypted)} encrypted, `
  + `${count(stats.reactions)} reactions, ${count(stats.threads)} thread replies, ${count(stats.redactions)} redactions, `
  + `${count(stats.stateEvents)} state events, ${count(stats.localEvents)} local (the rest federated)`;

export const run = async (args: string[]): Promise<void> => {
  const options = benchOptions('analytics', usage, () => parseAnalyticsBenchArgs(args));
  if (options === undefined) return;
  const watchdog = startWatchdog('analytics', options.maxRuntimeSeconds, 120_000);
  const loadBefore = loadAverage();
  const id = randomBytes(4).toString('hex');
  const cleanups: (() => Promise<void>)[] = [];
  const lines: string[] = [];
  try {
    const stores = await openStores(options, id, cleanups);
    say(stores.describe.join('\n'));
    const written = await writeCorpus(options, stores.log, watchdog.signal);
    const ingested = await ingest(options, stores, watchdog.signal);
    const roomId = written.corpus.roomIdOf(0)!;
    const questions = analystQuestions({ endMs: written.toMs, roomId });
    const settled = await settleMerges(stores.ch, 300);
    say(`ClickHouse: ${settled}`);
    stores.describe.push(`ClickHouse before the questions: ${settled}`);
    const answers = await askQuestions(options, stores, questions);

    process.stdout.write(`\nbench analytics, ${new Date().toISOString()}: ${corpusLine(written.corpus.stats)}, over ${options.days} days; `
      + `${count(options.senders)} users on ${options.remoteServers + 1} servers\n${stores.describe.join('\n')}\n`);
    printTable(`Writing and ingesting ${count(options.events)} events (both projections from offset 0 at once, as a server starting on this log)`,
      ['', 'seconds', 'records/s', 'rows written', 'rows/s'], [
        ['corpus → Kafka (generate + append)', written.seconds.toFixed(1), count(options.events / written.seconds), '-', '-'],
        ...ingested.map((i) => [i.label, i.seconds.toFixed(1), count(i.records / i.seconds), count(i.rows), count(i.rows / i.seconds)]),
      ]);
    const sorted = (values: number[]) => [...values].sort((a, b) => a - b);
    printTable(`Analyst questions: ${options.repetitions} runs each after a warm-up, ClickHouse (rollups) beside the PostgreSQL timeline`,
      ['question', 'ClickHouse p50 / worst', 'PostgreSQL p50 / worst', 'PostgreSQL ÷ ClickHouse (p50)', 'answers agree'],
      [...answers].map(([question, timings]) => {
        const ch = sorted(timings.clickhouse);
        const pgTimes = sorted(timings.postgres);
        return [
          question.name, `${formatMs(percentile(ch, 50))} / ${formatMs(ch[ch.length - 1]!)}`,
          `${formatMs(percentile(pgTimes, 50))} / ${formatMs(pgTimes[pgTimes.length - 1]!)}`,
          `${(percentile(pgTimes, 50) / percentile(ch, 50)).toFixed(1)}×`, timings.agreement ?? '-',
        ];
      }));
    if ([...answers.values()].some((timings) => timings.agreement?.startsWith('NO') === true)) process.exitCode = 1;
  } catch (error) {
    lines.push(`error: ${message(error)}`);
    process.exitCode = 1;
  } finally {
    watchdog.stop();
    for (const step of cleanups.reverse()) await step().catch((error: unknown) => lines.push(`error: cleanup: ${message(error)}`));
  }
  process.stdout.write(`\nmachine: ${availableParallelism()} CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}; load average before ${loadBefore}, after ${loadAverage()}`
    + `${options.keep ? `; kept: database and topic of run ${id}` : ''}\n`);
  for (const line of lines) process.stdout.write(`${line}\n`);
};
