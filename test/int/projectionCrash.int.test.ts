/**
 * Exactly-once under kill -9, against real Kafka and real PostgreSQL: a child process runs a
 * projection over N records; it is SIGKILLed several times while a batch transaction is open, then
 * restarted, and finally left to finish. After every kill the rows, the counters and the stored
 * positions must agree (the batch in flight vanished whole); at the end every record is applied
 * exactly once — a second apply would already have failed the unique key, and there are no gaps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { RoomLog, SqlDatabase } from '../../domain/ports/index.ts';
import { createKafkaLog } from '../../infra/kafka/index.ts';
import { createPostgresDatabase } from '../../infra/postgres/index.ts';
import { crashTables } from './crashProjection.ts';
import type { WorkerConfig } from './projectionWorker.ts';

const RECORDS = 2_000;
const PARTITIONS = 4;
const KILLS = 4;
const workerPath = fileURLToPath(new URL('./projectionWorker.ts', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const run = `${process.pid}_${Date.now() % 1_000_000}`;
const name = `crash_${run}`;
const topic = `strata.test.crash.${run}`;
const { rows: rowsTable, counters: countersTable } = crashTables(name);
// Lets the test see, in pg_stat_activity, whether the worker has a transaction open.
const applicationName = `strata_${name}`;

let log: RoomLog;
let db: SqlDatabase;
let workerConfig: WorkerConfig;

interface Worker {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly stderr: () => string;
}

const startWorker = async (): Promise<Worker> => {
  const child = spawn(process.execPath, [workerPath, JSON.stringify(workerConfig)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = new Promise<void>((resolve) => {
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready\n')) resolve();
    });
  });
  const outcome = await Promise.race([ready.then(() => 'ready' as const), exited]);
  if (outcome !== 'ready') throw new Error(`worker exited before it was ready (${JSON.stringify(outcome)}):\n${stderr}`);
  return { child, exited, stderr: () => stderr };
};

const one = async <T>(sql: string): Promise<T> => (await db.query<{ v: T }>(sql)).rows[0]!.v;

/** Rows, counter total and position total: equal whenever no transaction is half-applied. */
const totals = async () => {
  const { rows } = await db.query<{ rows: number; counted: number; positions: number }>(
    `SELECT (SELECT count(*) FROM ${rowsTable}) AS rows,
            (SELECT coalesce(sum(applied), 0) FROM ${countersTable})::int8 AS counted,
            (SELECT coalesce(sum(next_offset), 0) FROM projection_positions
              WHERE projection = '${name}')::int8 AS positions`);
  return rows[0]!;
};

const workerTransactionOpen = async (): Promise<boolean> =>
  (await one<number>(`SELECT count(*) AS v FROM pg_stat_activity
    WHERE application_name = '${applicationName}' AND xact_start IS NOT NULL`)) > 0;

beforeAll(async () => {
  const services = inject('strataTestServices');
  log = await createKafkaLog({ brokers: services.kafkaBrokers, clientId: 'strata-crash-test' });
  db = await createPostgresDatabase({ url: services.postgresUrl });
  await log.ensureTopic(topic, PARTITIONS);
  for (let start = 0; start < RECORDS; start += 250) {
    await log.append(topic, Array.from({ length: 250 }, (_, i) => ({
      key: `!room${(start + i) % 23}:crash.test`, value: { seq: start + i },
    })));
  }
  const separator = services.postgresUrl.includes('?') ? '&' : '?';
  workerConfig = {
    brokers: services.kafkaBrokers,
    postgresUrl: `${services.postgresUrl}${separator}application_name=${applicationName}`,
    topic, name, maxBatchSize: 50,
  };
});

afterAll(async () => {
  await db?.query(`DROP TABLE IF EXISTS ${rowsTable}, ${countersTable}`);
  await db?.query('DELETE FROM projection_positions WHERE projection = $1', [name]).catch(() => undefined);
  await db?.close();
  await log?.close();
});

describe('projection runtime under kill -9 (real Kafka + PostgreSQL)', () => {
  it('applies every record exactly once across repeated SIGKILLs mid-batch', async () => {
    let killedMidTransaction = 0;
    let previous = 0;
    for (let kill = 0; kill < KILLS; kill++) {
      const worker = await startWorker();
      const target = previous + 60 + Math.floor(Math.random() * 200);
      let open = false;
      for (;;) {
        const applied = Number((await totals()).positions);
        open = await workerTransactionOpen();
        if (applied >= target && open) break;
        if (applied >= RECORDS) throw new Error('worker finished before it could be killed; slow it down');
        await sleep(2 + Math.random() * 10);
      }
      worker.child.kill('SIGKILL');
      const exit = await worker.exited;
      expect(exit.signal).toBe('SIGKILL');
      if (open) killedMidTransaction++;
      // PostgreSQL rolls back the dead connection's transaction: nothing half-applied remains.
      const after = await totals();
      expect(Number(after.rows)).toBe(Number(after.positions));
      expect(Number(after.counted)).toBe(Number(after.positions));
      expect(Number(after.positions)).toBeGreaterThanOrEqual(previous);
      previous = Number(after.positions);
    }
    expect(killedMidTransaction).toBe(KILLS);

    const last = await startWorker();
    while (Number((await totals()).positions) < RECORDS) await sleep(50);
    last.child.kill('SIGTERM');
    const exit = await last.exited;
    expect(exit, last.stderr()).toEqual({ code: 0, signal: null });

    const ends: number[] = [];
    for (let p = 0; p < PARTITIONS; p++) ends.push(await log.endOffset(topic, p));
    expect(ends.reduce((a, b) => a + b, 0)).toBe(RECORDS);
    const perPartition = (await db.query<{ partition: number; c: number; lo: number; hi: number }>(
      `SELECT partition, count(*) AS c, min(log_offset) AS lo, max(log_offset) AS hi
       FROM ${rowsTable} GROUP BY partition ORDER BY partition`)).rows;
    const counters = new Map((await db.query<{ partition: number; applied: number }>(
      `SELECT partition, applied FROM ${countersTable}`)).rows.map((row) => [row.partition, row.applied]));
    const positions = new Map((await db.query<{ partition: number; next_offset: number }>(
      'SELECT partition, next_offset FROM projection_positions WHERE projection = $1', [name])).rows
      .map((row) => [row.partition, row.next_offset]));
    for (let p = 0; p < PARTITIONS; p++) {
      const row = perPartition.find((r) => r.partition === p);
      // Unique (partition, offset), count = end and max = end - 1: each offset exactly once, no gaps.
      expect(row).toEqual({ partition: p, c: ends[p], lo: 0, hi: ends[p]! - 1 });
      expect(counters.get(p)).toBe(ends[p]);
      expect(positions.get(p)).toBe(ends[p]);
    }
    const seqs = (await db.query<{ n: number; lo: number; hi: number }>(
      `SELECT count(DISTINCT seq) AS n, min(seq) AS lo, max(seq) AS hi FROM ${rowsTable}`)).rows[0];
    expect(seqs).toEqual({ n: RECORDS, lo: 0, hi: RECORDS - 1 });
  }, 600_000);
});
