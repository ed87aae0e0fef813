// `npm run rebuild` as an operator runs it, in both deployments (Kafka + PostgreSQL, and the
// embedded log + PGlite; ClickHouse in both): a server process is seeded over HTTP and stopped;
// the CLI, a child process, refuses while the server runs (exit 3), then rebuilds every read model
// to what it was, resets the senders' positions to the log's end saying what they skip, and prints
// progress lines on its non-terminal stderr.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify as toYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SqlExecutor } from '../../domain/index.ts';
import { createClickHouse, type ClickHouse } from '../../infra/clickhouse/index.ts';
import { loadConfig } from '../../infra/config/index.ts';
import { openReadModels } from '../../infra/server/index.ts';
import { ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE, ANALYTICS_ROLLUP_TABLES } from '../../projections/analytics/index.ts';
import { roomsProjection } from '../../projections/rooms/index.ts';
import { searchProjectionFor } from '../../projections/search/index.ts';
import { chIdentifier, chString } from '../../projections/runtime/index.ts';
import { MatrixClient, e, freePort, type ServerMode } from '../harness/index.ts';
import { createRunDatabase, deleteKafkaNamespace, type RunDatabase } from '../harness/services.ts';
import { startServer, type RunningServer } from '../e2e/serverProcess.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const SENDERS = ['push_gateway', 'federation_sender', 'appservice_sender'];
/** The read models that must be caught up before the server stops, for the comparison to hold. */
const PROJECTIONS = ['rooms', 'search', 'analytics'];

/** Runs `npm run rebuild -- ...args` as a child process with only `env` (and what finds Node). */
const runRebuild = (env: Record<string, string>, args: readonly string[]): Promise<{ code: number | null; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = spawn('sh', ['infra/node/run.sh', 'infra/cli/rebuild.ts', ...args], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp',
        ...(process.env.NODE_OPTIONS === undefined ? {} : { NODE_OPTIONS: process.env.NODE_OPTIONS }),
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });

/** `strata_projection_lag` samples per consumer: partition → lag. */
const lagSamples = (text: string): Map<string, Map<string, number>> => {
  const samples = new Map<string, Map<string, number>>();
  for (const [, consumer, partition, lag] of text.matchAll(/^strata_projection_lag\{projection="([^"]+)",partition="(\d+)"\} (\S+)$/gm)) {
    if (!samples.has(consumer!)) samples.set(consumer!, new Map());
    samples.get(consumer!)!.set(partition!, Number(lag));
  }
  return samples;
};

describe.each<ServerMode>(['distributed', 'embedded'])('npm run rebuild (%s, with ClickHouse)', (mode) => {
  const suffix = randomBytes(5).toString('hex');
  const namespace = `rebuild-${suffix}`;
  const chDatabase = `strata_rebuild_${suffix}`;
  let dir: string;
  let database: RunDatabase | undefined;
  let env: Record<string, string>;
  let metricsUrl: string;
  let server: RunningServer | undefined;
  let ch: ClickHouse;

  /** The server's read models as the CLI opens them (PGlite only while no server holds them). */
  const withReadModels = async <T>(run: (db: SqlExecutor) => Promise<T>): Promise<T> => {
    const { db } = await openReadModels(loadConfig(env));
    try {
      return await run(db);
    } finally {
      await db.close();
    }
  };
  const positions = async (db: SqlExecutor, projection: string): Promise<Map<number, number>> => new Map((await db.query<{ partition: number; next_offset: string }>(
    'SELECT partition, next_offset FROM projection_positions WHERE projection = $1', [projection],
  )).rows.map((row) => [Number(row.partition), Number(row.next_offset)]));

  /** What a rebuild must reproduce: rooms and search tables and positions, warehouse rows, rollups merged. */
  const readModels = (): Promise<Record<string, unknown>> => withReadModels(async (db) => {
    const snapshot: Record<string, unknown> = {};
    for (const table of [...roomsProjection.tables, ...searchProjectionFor('simple').tables]) {
      snapshot[table] = (await db.query<{ row: string }>(`SELECT to_jsonb(t)::text AS row FROM ${table} t ORDER BY 1`)).rows.map((r) => r.row);
    }
    for (const name of ['rooms', 'search']) snapshot[`positions ${name}`] = [...(await positions(db, name))].sort();
    snapshot[ANALYTICS_EVENTS_TABLE] = await ch.query(`SELECT * FROM ${ANALYTICS_EVENTS_TABLE} FINAL ORDER BY log_partition, log_offset`);
    snapshot[ANALYTICS_REDACTIONS_TABLE] = await ch.query(`SELECT * FROM ${ANALYTICS_REDACTIONS_TABLE} FINAL ORDER BY log_partition, log_offset`);
    // A rollup's keys are its plain columns; its sets (uniqExact states) are compared merged.
    for (const table of ANALYTICS_ROLLUP_TABLES) {
      const columns = await ch.query<{ name: string; type: string }>(
        `SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = ${chString(table)}`);
      const keys = columns.filter((c) => !c.type.startsWith('AggregateFunction')).map((c) => c.name).join(', ');
      const sets = columns.filter((c) => c.type.startsWith('AggregateFunction')).map((c) => `uniqExactMerge(${c.name}) AS ${c.name}`).join(', ');
      snapshot[table] = await ch.query(`SELECT ${keys}, ${sets} FROM ${table} GROUP BY ${keys} ORDER BY ${keys}`);
    }
    return snapshot;
  });

  beforeAll(async () => {
    const services = inject('strataTestServices');
    dir = await mkdtemp(path.join(tmpdir(), `strata-rebuild-${mode}-`));
    const registration = path.join(dir, 'bridge.yaml');
    // A bridge with a url, so the appservice sender runs and keeps positions (nothing listens there).
    await writeFile(registration, toYaml({
      id: 'rb', url: `http://127.0.0.1:${await freePort()}`, as_token: 'as_rb', hs_token: 'hs_rb', sender_localpart: 'rbbot',
      namespaces: { users: [{ regex: '@rb_.*', exclusive: true }] },
    }));
    const configFile = path.join(dir, 'strata.yaml');
    await writeFile(configFile, toYaml({
      app_service_config_files: [registration], rate_limits: { login: false, registration: false, messages: false },
    }));
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    env = {
      STRATA_SERVER_NAME: 'rebuild.test', STRATA_LISTEN: '127.0.0.1:0', STRATA_DATA_DIR: path.join(dir, 'data'), STRATA_REGISTRATION: 'open',
      STRATA_LOG_LEVEL: 'info', STRATA_CONFIG: configFile, STRATA_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
      STRATA_CLICKHOUSE_URL: services.clickhouseUrl, STRATA_CLICKHOUSE_DATABASE: chDatabase,
    };
    if (mode === 'distributed') {
      database = await createRunDatabase(services.postgresUrl, `strata_rebuild_${suffix}`);
      Object.assign(env, { STRATA_KAFKA_BROKERS: services.kafkaBrokers.join(','), STRATA_KAFKA_NAMESPACE: namespace, STRATA_POSTGRES_URL: database.url });
    }
    server = await startServer(env);
    ch = await createClickHouse({ url: services.clickhouseUrl, database: chDatabase });
  });
  afterAll(async () => {
    await server?.stop('SIGKILL');
    await ch?.exec(`DROP DATABASE IF EXISTS ${chIdentifier(chDatabase)}`);
    await ch?.close();
    await database?.drop();
    // A server that failed to start was killed: its groups keep members until their sessions time out.
    if (mode === 'distributed') await deleteKafkaNamespace(inject('strataTestServices').kafkaBrokers, namespace).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses while the server runs, then rebuilds each read model to what it was', async () => {
    const client = new MatrixClient(server!.url);
    const alice = client.as(await client.register('alice'));
    const bob = client.as(await client.register('bob'));
    const rooms: string[] = [];
    for (let r = 0; r < 4; r++) {
      const roomId = await alice.createRoom({ preset: 'public_chat', name: `room ${r}`, topic: `about ${r}` });
      await bob.post(`/join/${e(roomId)}`, {});
      rooms.push(roomId);
    }
    for (let i = 0; i < 40; i++) await (i % 2 === 0 ? alice : bob).send(rooms[i % rooms.length]!, `rebuilt words number ${i}`);
    const doomed = await alice.send(rooms[0]!, 'soon redacted');
    await alice.put(`/rooms/${e(rooms[0]!)}/redact/${e(doomed)}/r1`, { reason: 'gone' });
    await bob.post(`/rooms/${e(rooms[1]!)}/leave`, {});

    // Caught up: every projection at lag 0 on the rooms projection's partitions, twice in a row.
    let steady = 0;
    const deadline = Date.now() + 60_000;
    while (steady < 2 && Date.now() < deadline) {
      const samples = lagSamples(await (await fetch(metricsUrl)).text());
      const partitions = [...(samples.get('rooms')?.keys() ?? [])];
      const caughtUp = partitions.length > 0
        && PROJECTIONS.every((name) => partitions.every((partition) => samples.get(name)?.get(partition) === 0));
      steady = caughtUp ? steady + 1 : 0;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    expect(steady, 'the projections caught up').toBe(2);

    const refused = await runRebuild(env, ['rooms']);
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toMatch(mode === 'distributed'
      ? /strata: rebuild refused, the server seems to be running: another Strata process .* holds the writer lease/
      : /strata: rebuild refused, the server seems to be running: the data directory .* is in use by another Strata process/);

    expect((await server!.stop('SIGTERM')).code).toBe(0);
    server = undefined;
    // As after a crash between two throttled saves: the push sender's position 3 records back.
    const sendersBefore = await withReadModels(async (db) => {
      const [busiest] = [...await positions(db, 'push_gateway')].sort((a, b) => b[1] - a[1]);
      await db.query("UPDATE projection_positions SET next_offset = next_offset - 3 WHERE projection = 'push_gateway' AND partition = $1", [busiest![0]]);
      const stored = new Map<string, Map<number, number>>();
      for (const name of SENDERS) stored.set(name, await positions(db, name));
      return stored;
    });
    const before = await readModels();
    const records = (before['positions rooms'] as [number, number][]).reduce((sum, [, next]) => sum + next, 0);
    expect((before[ANALYTICS_EVENTS_TABLE] as unknown[]).length).toBeGreaterThan(50);
    expect((before.search_events as unknown[]).length).toBeGreaterThanOrEqual(40);

    const usage = await runRebuild(env, ['timeline']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown: timeline');

    const { code, stderr } = await runRebuild(env, ['--all']);
    expect(code, stderr).toBe(0);
    for (const name of [...PROJECTIONS, ...SENDERS]) {
      expect(stderr, name).toMatch(new RegExp(`^rebuild ${name}: 100\\.0%  ${records}/${records}  \\d+(\\.\\d+k)?/s  done$`, 'm'));
    }
    expect(stderr).toContain(`rebuilt rooms from ${records} records`);
    expect(stderr).toContain(`rebuilt search from ${records} records`);
    expect(stderr).toContain(`rebuilt analytics from ${records} records`);

    expect(await readModels()).toEqual(before);
    // The senders are at the log's end (where the rooms projection is; a partition without records
    // has no rooms position), each having said what it skipped.
    await withReadModels(async (db) => {
      const end = await positions(db, 'rooms');
      for (const name of SENDERS) {
        const reset = await positions(db, name);
        expect(reset.size, name).toBeGreaterThanOrEqual(end.size);
        for (const [partition, next] of reset) expect(next, `${name} ${partition}`).toBe(end.get(partition) ?? 0);
        const skipped = [...reset].reduce((sum, [partition, next]) => sum + next - (sendersBefore.get(name)!.get(partition) ?? next), 0);
        if (name === 'push_gateway') expect(skipped).toBeGreaterThanOrEqual(3);
        expect(stderr, name).toContain(skipped === 0
          ? `${name}: positions set to the log's end (${records} records); the old positions had reached it, nothing skipped`
          : `${name}: positions set to the log's end (${records} records); ${skipped} records the old positions had not reached will not be sent`);
      }
    });
  });
});
