import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RoomLog, SqlDatabase } from '../../domain/ports/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { applyBatch, ensureSchema } from './positions.ts';
import { rebuildProjection } from './rebuild.ts';
import type { RebuildProgress } from './rebuild.ts';
import { startProjection } from './startProjection.ts';
import { appendRecords, countingProjection } from '../../test/builders/index.ts';

const TOPIC = 'room.events';
const PARTITIONS = 4;

let dir: string;
let log: RoomLog;
let db: SqlDatabase;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-projection-'));
  log = await createEmbeddedLog({ dir: path.join(dir, 'log') });
  await log.ensureTopic(TOPIC, PARTITIONS);
  db = await createPgliteDatabase({ dir: path.join(dir, 'db') });
});
afterEach(async () => {
  await log.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/** Per-partition end offsets of the log, and rows/counters of the read model. */
const snapshot = async (name = 'counting') => {
  const ends: number[] = [];
  for (let p = 0; p < PARTITIONS; p++) ends.push(await log.endOffset(TOPIC, p));
  const counts = new Map((await db.query<{ partition: number; n: number }>(
    `SELECT partition, n FROM ${name}_counts`)).rows.map((row) => [row.partition, row.n]));
  const rows = (await db.query<{ partition: number; c: number; max: number | null }>(
    `SELECT partition, count(*) AS c, max(log_offset) AS max FROM ${name}_rows GROUP BY partition`)).rows;
  return { ends, counts, rows: new Map(rows.map((row) => [row.partition, row])) };
};

const expectComplete = async (name = 'counting') => {
  const { ends, counts, rows } = await snapshot(name);
  for (let p = 0; p < PARTITIONS; p++) {
    expect(counts.get(p) ?? 0).toBe(ends[p]);
    expect(rows.get(p)?.c ?? 0).toBe(ends[p]);
    // count = max + 1 with a unique (partition, offset) key: no gaps and no duplicates.
    if (ends[p]! > 0) expect(rows.get(p)?.max).toBe(ends[p]! - 1);
  }
  return ends.reduce((a, b) => a + b, 0);
};

const waitUntilCaughtUp = async (running: Awaited<ReturnType<typeof startProjection>>) => {
  for (let p = 0; p < PARTITIONS; p++) {
    const end = await log.endOffset(TOPIC, p);
    if (end > 0) expect(await running.waitFor(p, end - 1, 10_000)).toBe(true);
  }
};

describe('startProjection', () => {
  it('applies every record once in batches and resumes from the stored positions after a restart', async () => {
    const projection = countingProjection({ topic: TOPIC });
    await appendRecords(log, TOPIC, 0, 500);
    const first = await startProjection({ projection, log, db, maxBatchSize: 37 });
    await waitUntilCaughtUp(first);
    await first.stop();
    await first.done;
    expect(await expectComplete()).toBe(500);

    await appendRecords(log, TOPIC, 500, 300);
    const second = await startProjection({ projection, log, db, maxBatchSize: 37 });
    await waitUntilCaughtUp(second);
    await second.stop();
    expect(await expectComplete()).toBe(800);
  });

  it('lets a writer wait for its own append (read-your-writes) and reports lag', async () => {
    const batches: { partition: number; next: number; high: number }[] = [];
    const running = await startProjection({
      projection: countingProjection({ topic: TOPIC }), log, db,
      metrics: { onBatch: (_name, partition, next, high) => batches.push({ partition, next, high }) },
    });
    const [appended] = await log.append(TOPIC, [{ key: '!mine:test', value: { body: 'hello' } }]);
    expect(await running.waitFor(appended!.partition, appended!.offset, 5_000)).toBe(true);
    const { rows } = await db.query('SELECT body FROM counting_rows WHERE partition = $1 AND log_offset = $2',
      [appended!.partition, appended!.offset]);
    expect(rows).toEqual([{ body: 'hello' }]);
    expect(running.position(appended!.partition)).toBe(appended!.offset + 1);
    expect(running.lag().get(appended!.partition)).toBe(0);
    expect(batches.at(-1)).toEqual({ partition: appended!.partition, next: appended!.offset + 1, high: appended!.offset + 1 });
    // An offset nobody appended yet times out; after stop, waits answer false at once.
    expect(await running.waitFor(appended!.partition, appended!.offset + 5, 100)).toBe(false);
    await running.stop();
    expect(await running.waitFor(appended!.partition, appended!.offset + 5, 10_000)).toBe(false);
  });

  it('shares partitions between members of one group and still applies each record once', async () => {
    const projection = countingProjection({ topic: TOPIC });
    const a = await startProjection({ projection, log, db, maxBatchSize: 25 });
    await appendRecords(log, TOPIC, 0, 300);
    const b = await startProjection({ projection, log, db, maxBatchSize: 25 });
    await appendRecords(log, TOPIC, 300, 300);
    await waitUntilCaughtUp(b); // b waits through the database for partitions a owns
    await waitUntilCaughtUp(a);
    const owned = [...a.lag().keys(), ...b.lag().keys()];
    expect(new Set(owned).size).toBe(owned.length);
    await Promise.all([a.stop(), b.stop()]);
    expect(await expectComplete()).toBe(600);
  });

  it('stops with a rejected done when evolve throws, keeping the failed batch out', async () => {
    const base = countingProjection({ topic: TOPIC });
    const projection = {
      ...base,
      evolve: (entry: Parameters<typeof base.evolve>[0]) => {
        if ((entry.value as { body: string }).body === 'poison') throw new Error('cannot project poison');
        return base.evolve(entry);
      },
    };
    const running = await startProjection({ projection, log, db });
    const [poison] = await log.append(TOPIC, [{ key: '!p:test', value: { body: 'poison' } }]);
    await expect(running.done).rejects.toThrow('cannot project poison');
    await expect(running.waitFor(poison!.partition, poison!.offset, 1_000)).rejects.toThrow('cannot project poison');
    const { rows } = await db.query('SELECT count(*) AS c FROM counting_rows');
    expect(rows).toEqual([{ c: 0 }]);
  });

  it('rebuilds from offset 0 when the version changes, and says so', async () => {
    await appendRecords(log, TOPIC, 0, 200);
    const v1 = await startProjection({ projection: countingProjection({ topic: TOPIC }), log, db });
    await waitUntilCaughtUp(v1);
    await v1.stop();

    const messages: string[] = [];
    const logger = { info: (_: object, message: string) => messages.push(message), warn: () => undefined };
    const projection = countingProjection({ topic: TOPIC, version: 2, transform: (body) => body.toUpperCase() });
    const v2 = await startProjection({ projection, log, db, logger });
    expect(messages).toContain('projection version changed: rebuilding from offset 0');
    await waitUntilCaughtUp(v2);
    await v2.stop();
    expect(await expectComplete()).toBe(200);
    const { rows } = await db.query<{ lower: number; versions: number }>(
      `SELECT (SELECT count(*) FROM counting_rows WHERE body <> upper(body)) AS lower,
              (SELECT count(DISTINCT version) FROM projection_positions WHERE projection = 'counting') AS versions`);
    expect(rows).toEqual([{ lower: 0, versions: 1 }]);
  });
});

describe('rebuildProjection', () => {
  it('truncates, replays everything and reports progress up to the total', async () => {
    const projection = countingProjection({ topic: TOPIC });
    await appendRecords(log, TOPIC, 0, 450);
    const running = await startProjection({ projection, log, db });
    await waitUntilCaughtUp(running);
    await running.stop();

    const progress: RebuildProgress[] = [];
    const result = await rebuildProjection({ projection, log, db, maxBatchSize: 40, onProgress: (p) => progress.push(p) });
    expect(result).toEqual({ done: 450, total: 450 });
    expect(progress[0]).toEqual({ done: 0, total: 450 });
    expect(progress.at(-1)).toEqual({ done: 450, total: 450 });
    expect(progress.every((p, i) => i === 0 || p.done > progress[i - 1]!.done)).toBe(true);
    expect(await expectComplete()).toBe(450);
  });
});

describe('applyBatch', () => {
  it('skips entries it already applied and refuses a hole in the offsets', async () => {
    const projection = countingProjection({ topic: TOPIC });
    await ensureSchema(db, projection);
    await log.append(TOPIC, Array.from({ length: 6 }, (_, i) => ({ key: '!same:test', value: { body: `m${i}` } })));
    const partition = await log.partitionFor(TOPIC, '!same:test');
    const entries = await log.read(TOPIC, partition, 0, 10);
    expect(await applyBatch(db, projection, partition, entries.slice(0, 4))).toBe(4);
    // Redelivered entries (2, 3) are skipped, the new ones (4, 5) applied: no unique violation.
    expect(await applyBatch(db, projection, partition, entries.slice(2))).toBe(6);
    expect(await applyBatch(db, projection, partition, entries.slice(0, 3))).toBe(6);
    await expect(applyBatch(db, projection, partition, [{ ...entries[5]!, offset: 8 }])).rejects.toThrow(/expected offset 6/);
    expect((await db.query('SELECT n FROM counting_counts WHERE partition = $1', [partition])).rows).toEqual([{ n: 6 }]);
  });
});
