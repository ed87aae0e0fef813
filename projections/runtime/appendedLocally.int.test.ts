import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { LogEntry, RoomLog, SqlDatabase } from '../../domain/ports/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { createPostgresDatabase } from '../../infra/postgres/index.ts';
import { applyingAppended } from './appendedLocally.ts';
import { applyBatch, ensureSchema } from './positions.ts';
import { startProjection, type AppliedBatch } from './startProjection.ts';
import { countingProjection } from '../../test/builders/index.ts';

const TOPIC = 'room.events';
const PARTITIONS = 4;

let dir: string;
let log: RoomLog;
let db: SqlDatabase;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-appended-'));
  log = await createEmbeddedLog({ dir: path.join(dir, 'log') });
  await log.ensureTopic(TOPIC, PARTITIONS);
  db = await createPgliteDatabase({ dir: path.join(dir, 'db') });
});
afterEach(async () => {
  await log.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/** `log`, whose consumers get each batch only after `ms`: what is applied sooner was applied locally. */
const slowConsumers = (inner: RoomLog, ms: number): RoomLog => ({
  ...inner,
  append: (topic, records) => inner.append(topic, records),
  subscribe: (options, handlers) => inner.subscribe(options, {
    ...handlers,
    onBatch: async (batch) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      await handlers.onBatch(batch);
    },
  }),
});

const rowsOf = async (partition: number) => (await db.query<{ log_offset: number; body: string }>(
  'SELECT log_offset, body FROM counting_rows WHERE partition = $1 ORDER BY log_offset', [partition])).rows;

describe('applyingAppended', () => {
  it('applies a writer\'s appends at once, and the consumer neither applies nor announces them again', async () => {
    const applied: AppliedBatch[] = [];
    const running = await startProjection({
      projection: countingProjection({ topic: TOPIC }), log: slowConsumers(log, 4_000), db, onApplied: (batch) => applied.push(batch),
    });
    const writerLog = applyingAppended(log, [running], TOPIC);
    const key = '!local:test';
    const partition = await log.partitionFor(TOPIC, key);
    // Concurrent appends: the ones that arrive while a transaction runs commit together.
    const appended = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      writerLog.append(TOPIC, [{ key, value: { body: `m${i}` }, headers: { type: 'test' } }])));
    const last = appended.at(-1)![0]!;
    // Well before the consumer gets its first batch.
    expect(await running.waitFor(partition, last.offset, 3_000)).toBe(true);
    // The consumer's own delivery of those offsets comes later and must be a no-op.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    await running.stop();

    const rows = await rowsOf(partition);
    expect(rows.map((row) => row.log_offset)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(rows.map((row) => row.body)).toEqual(appended.map((_, i) => `m${i}`));
    const announced = applied.flatMap((batch) => batch.entries.map((entry) => entry.offset));
    expect(announced.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect((await db.query('SELECT n FROM counting_counts WHERE partition = $1', [partition])).rows).toEqual([{ n: 20 }]);
  });

  it('hands the projection each entry with the headers the log added on the way', async () => {
    const handed: LogEntry[] = [];
    const tagging: RoomLog = {
      ...log,
      append: async (topic, records, options) =>
        (await log.append(topic, records, options)).map((position, index) => (index === 0 ? { ...position, headers: { added: 'by the log' } } : position)),
    };
    const writerLog = applyingAppended(tagging, [{ applyAppended: async (entries) => { handed.push(...entries); return true; } }], TOPIC);
    await writerLog.append(TOPIC, [
      { key: '!tag:test', value: { body: 'a' }, headers: { type: 'test' } },
      { key: '!tag:test', value: { body: 'b' }, headers: { type: 'test' } },
    ]);
    expect(handed.map((entry) => entry.headers)).toEqual([{ type: 'test', added: 'by the log' }, { type: 'test' }]);
  });

  it('lets the batches a late consumer fetches yield to other statements, and never the appends it is handed', async () => {
    const deferrable: boolean[] = [];
    const recording: SqlDatabase = {
      ...db,
      transactionOf: async (statements, options) => {
        deferrable.push(options?.deferrable === true);
        return db.transactionOf!(statements, options);
      },
    };
    const running = await startProjection({ projection: countingProjection({ topic: TOPIC }), log, db: recording, latency: 'background' });
    const key = '!late:test';
    const partition = await log.partitionFor(TOPIC, key);
    // Appended by someone else: the consumer fetches it.
    const [fetched] = await log.append(TOPIC, [{ key, value: { body: 'fetched' }, headers: { type: 'test' } }]);
    expect(await running.waitFor(partition, fetched!.offset, 5_000)).toBe(true);
    expect(deferrable).toEqual([true]);
    // Appended here: handed to the projection, which a send waits for.
    const [handed] = await applyingAppended(log, [running], TOPIC).append(TOPIC, [{ key, value: { body: 'handed' }, headers: { type: 'test' } }]);
    expect(await running.waitFor(partition, handed!.offset, 5_000)).toBe(true);
    await running.stop();
    expect(deferrable).toEqual([true, false]);
    expect((await rowsOf(partition)).map((row) => row.body)).toEqual(['fetched', 'handed']);
  });

  it('declines what it cannot apply in order, or at all, and the consumer applies it', async () => {
    const running = await startProjection({ projection: countingProjection({ topic: TOPIC }), log, db });
    const key = '!gap:test';
    const partition = await log.partitionFor(TOPIC, key);
    const [first] = await log.append(TOPIC, [{ key, value: { body: 'by the consumer' } }]);
    expect(await running.waitFor(partition, first!.offset, 5_000)).toBe(true);
    const entry = (offset: number, body: string): LogEntry => ({
      topic: TOPIC, partition, offset, key, value: { body }, headers: {}, timestamp: Date.now(),
    });
    // Past a hole: offset 1 is not applied (nor appended), so offset 2 must wait for the consumer.
    expect(await running.applyAppended([entry(2, 'too early')])).toBe(false);
    // Already applied: nothing to do, and nothing written twice.
    expect(await running.applyAppended([entry(0, 'again')])).toBe(true);
    // Another topic is not this projection's.
    expect(await running.applyAppended([{ ...entry(1, 'elsewhere'), topic: 'other' }])).toBe(false);
    expect(await rowsOf(partition)).toEqual([{ log_offset: 0, body: 'by the consumer' }]);
    await running.stop();
    // A stopped projection owns no partition.
    expect(await running.applyAppended([entry(1, 'after stop')])).toBe(false);
    expect(await rowsOf(partition)).toEqual([{ log_offset: 0, body: 'by the consumer' }]);
  });

  it('leaves partitions another member owns to that member', async () => {
    const projection = countingProjection({ topic: TOPIC });
    const a = await startProjection({ projection, log, db });
    const b = await startProjection({ projection, log, db });
    // Wait until the group settled: every partition owned by exactly one member.
    for (let tries = 0; tries < 200; tries++) {
      const owners = Array.from({ length: PARTITIONS }, (_, p) => Number(a.position(p) !== undefined) + Number(b.position(p) !== undefined));
      if (owners.every((n) => n === 1)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const key = [...Array(40).keys()].map((i) => `!room${i}:test`);
    const partitions = await Promise.all(key.map((k) => log.partitionFor(TOPIC, k)));
    const index = partitions.findIndex((p) => a.position(p) === undefined);
    expect(index).toBeGreaterThanOrEqual(0);
    const theirs = partitions[index]!;
    // a hands its append to itself, though b owns the partition: a declines, b applies it.
    const [appended] = await applyingAppended(log, [a], TOPIC).append(TOPIC, [{ key: key[index]!, value: { body: 'b applies' } }]);
    expect(await a.waitFor(theirs, appended!.offset, 10_000)).toBe(true);
    await Promise.all([a.stop(), b.stop()]);
    expect(await rowsOf(theirs)).toEqual([{ log_offset: appended!.offset, body: 'b applies' }]);
  });
});

describe('applyBatch with the position this process last saw', () => {
  const check = async (sql: SqlDatabase, name: string): Promise<void> => {
    const projection = countingProjection({ name, topic: TOPIC });
    await ensureSchema(sql, projection);
    await log.append(TOPIC, Array.from({ length: 6 }, (_, i) => ({ key: '!same:test', value: { body: `m${i}` } })));
    const partition = await log.partitionFor(TOPIC, '!same:test');
    const entries = await log.read(TOPIC, partition, 0, 10);
    expect(await applyBatch(sql, projection, partition, entries.slice(0, 2), 0)).toBe(2);
    expect(await applyBatch(sql, projection, partition, entries.slice(2, 4), 2)).toBe(4);
    // Stale: another applier moved the position to 4. The swap fails, the transaction (whose
    // inserts would collide) rolls back, and the batch is applied from the stored position.
    expect(await applyBatch(sql, projection, partition, entries.slice(2), 2)).toBe(6);
    expect(await applyBatch(sql, projection, partition, entries.slice(0, 3), 0)).toBe(6);
    // Entries all below the position this process saw: no statement at all.
    expect(await applyBatch(sql, projection, partition, entries.slice(0, 3), 6)).toBe(6);
    await expect(applyBatch(sql, projection, partition, [{ ...entries[5]!, offset: 8 }], 6)).rejects.toThrow(/expected offset 6/);
    const { rows } = await sql.query<{ n: number; next_offset: number }>(
      `SELECT (SELECT n FROM ${name}_counts WHERE partition = $1) AS n,
              (SELECT next_offset FROM projection_positions WHERE projection = $2 AND partition = $1) AS next_offset`,
      [partition, name]);
    expect(rows).toEqual([{ n: 6, next_offset: 6 }]);
  };

  it('compares and sets the position on PGlite', async () => {
    await check(db, 'counting');
  });

  it('compares and sets the position on PostgreSQL, statements pipelined', async () => {
    const pg = await createPostgresDatabase({ url: inject('strataTestServices').postgresUrl, max: 2 });
    const name = `cas_${process.pid}_${Date.now() % 1_000_000}`;
    try {
      await check(pg, name);
    } finally {
      await pg.query(`DROP TABLE IF EXISTS ${name}_rows, ${name}_counts`);
      await pg.query('DELETE FROM projection_positions WHERE projection = $1', [name]);
      await pg.close();
    }
  });
});
