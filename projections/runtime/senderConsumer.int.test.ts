// The senders' consumer skeleton over the embedded log and PGlite: history before the first start
// is never handled, what must be stored is stored with the batch, the rest at most every second
// and at a clean stop, a stop part-way handles the batch again, lag is reported, and resetToEnd
// (the rebuild CLI) moves positions to the log's end counting what it skips.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEntry, RoomLog, SqlDatabase } from '../../domain/ports/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { appendRecords } from '../../test/builders/index.ts';
import { POSITIONS_SCHEMA } from './positions.ts';
import { consumeAsSender } from './senderConsumer.ts';
import { senderPositions } from './senderPositions.ts';

const TOPIC = 'room.events';
const PARTITIONS = 4;
const NAME = 'test_sender';
const positions = senderPositions(NAME, 1);
const silent = { info: () => undefined, warn: () => undefined };

let dir: string;
let log: RoomLog;
let db: SqlDatabase;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-sender-'));
  log = await createEmbeddedLog({ dir: path.join(dir, 'log') });
  await log.ensureTopic(TOPIC, PARTITIONS);
  db = await createPgliteDatabase({ dir: path.join(dir, 'db') });
  await db.query(POSITIONS_SCHEMA);
});
afterEach(async () => {
  await log.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

const stored = async (): Promise<Map<number, number>> => new Map((await db.query<{ partition: number; next_offset: string }>(
  'SELECT partition, next_offset FROM projection_positions WHERE projection = $1', [NAME],
)).rows.map((row) => [Number(row.partition), Number(row.next_offset)]));

const ends = async (): Promise<number[]> => Promise.all(Array.from({ length: PARTITIONS }, (_, p) => log.endOffset(TOPIC, p)));

const waitUntil = async (done: () => boolean | Promise<boolean>): Promise<void> => {
  const deadline = Date.now() + 10_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

/** A sender recording what it handled; entries whose body ends in 0 "must be stored" with their batch. */
const startSender = (options: { stopAt?: (entry: LogEntry) => boolean } = {}) => {
  const handled: string[] = [];
  const checkpoints: { partition: number; next: number; urgent: number }[] = [];
  const lags = new Map<number, number>();
  let stopping = false;
  const running = consumeAsSender<string[]>({
    name: NAME, topic: TOPIC, log, logger: silent,
    metrics: { onBatch: (_name, partition, next, high) => lags.set(partition, high - next) },
    loadPositions: (partitions) => positions.load(db, log, TOPIC, partitions),
    handle: async (_partition, entries) => {
      const bodies: string[] = [];
      for (const entry of entries) {
        if (options.stopAt?.(entry) === true) stopping = true;
        if (stopping) return undefined;
        bodies.push((entry.value as { body: string }).body);
      }
      handled.push(...bodies);
      return bodies;
    },
    mustStore: (bodies) => bodies.some((body) => body.endsWith('0')),
    checkpoint: async (partition, next, bodies) => {
      checkpoints.push({ partition, next, urgent: bodies.filter((body) => body.endsWith('0')).length });
      await positions.save(db, TOPIC, partition, next);
    },
  });
  return { running, handled, checkpoints, lags };
};

describe('consumeAsSender', () => {
  it('acts only on records after its first start, stores urgent batches at once and the rest at a clean stop', async () => {
    await appendRecords(log, TOPIC, 0, 30);
    const sender = startSender();
    const running = await sender.running;
    // The history before the first start is never handled: positions start at the log's end.
    await waitUntil(async () => (await stored()).size === PARTITIONS);
    expect(await stored()).toEqual(new Map((await ends()).map((end, partition) => [partition, end])));

    await appendRecords(log, TOPIC, 100, 9); // messages 100..108: one urgent (100)
    await waitUntil(() => sender.handled.length === 9);
    expect(sender.handled.sort()).toEqual(Array.from({ length: 9 }, (_, i) => `message ${100 + i}`).sort());
    // The urgent record's batch was stored with it.
    expect(sender.checkpoints.some((checkpoint) => checkpoint.urgent === 1)).toBe(true);
    // Right after those saves: these batches are within the throttle, handled but not stored yet.
    await appendRecords(log, TOPIC, 111, 8);
    await waitUntil(() => sender.handled.length === 17);
    await running.stop();
    // Whatever was handled and not stored yet is stored at the stop: everything is at the end.
    expect(await stored()).toEqual(new Map((await ends()).map((end, partition) => [partition, end])));
    expect([...sender.lags.values()].every((lag) => lag === 0)).toBe(true);
  });

  it('stores nothing for a batch a stop interrupted, which the next start handles again', async () => {
    const first = startSender({ stopAt: (entry) => (entry.value as { body: string }).body === 'message 205' });
    const running = await first.running;
    const before = await stored();
    await appendRecords(log, TOPIC, 200, 10);
    // The batches are delivered; those after the stop began are handed back unhandled.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await running.stop();
    expect(first.handled).not.toContain('message 205');

    const second = startSender();
    const again = await second.running;
    // Every record the first sender did not get to stored a position for is handled now, 205 included.
    await waitUntil(() => second.handled.includes('message 205'));
    await again.stop();
    expect(new Set([...first.handled, ...second.handled]).size).toBe(10);
    const after = await stored();
    const endOffsets = await ends();
    for (const [partition, next] of after) expect(next).toBe(endOffsets[partition]);
    expect([...after.values()].reduce((a, b) => a + b, 0) - [...before.values()].reduce((a, b) => a + b, 0)).toBe(10);
  });

  it('resetToEnd sets every partition to the log\'s end and counts the records skipped', async () => {
    await appendRecords(log, TOPIC, 0, 5);
    await positions.load(db, log, TOPIC, [0, 1, 2, 3]);
    await appendRecords(log, TOPIC, 5, 20);
    const progress: number[] = [];
    const reset = await positions.resetToEnd(db, log, TOPIC, ({ done }) => progress.push(done));
    expect(reset).toEqual({ total: 25, skipped: 20 });
    expect(await stored()).toEqual(new Map((await ends()).map((end, partition) => [partition, end])));
    expect(progress[0]).toBe(0);
    expect(progress[progress.length - 1]).toBe(25);
    // At the end already: nothing more to skip.
    expect(await positions.resetToEnd(db, log, TOPIC)).toEqual({ total: 25, skipped: 0 });
  });
});
