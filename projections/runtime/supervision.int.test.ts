/**
 * The supervised consumer runtime on the embedded log and PGlite: a transient failure is retried
 * (the consumer leaves the group and joins again) until it passes, with nothing lost or applied
 * twice and waiters still answered; a failure of unknown kind that keeps hitting the same record
 * stops the consumer on it after the policy's attempts, leaving the records before it applied.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LogEntry, RoomLog, SqlDatabase } from '../../domain/ports/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { appendRecords, countingProjection } from '../../test/builders/index.ts';
import { startProjection } from './startProjection.ts';
import { ConsumerStoppedError, createSupervisor } from './supervisor.ts';

const TOPIC = 'supervised.events';

let dir: string;
let log: RoomLog;
let db: SqlDatabase;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'strata-supervised-'));
  log = await createEmbeddedLog({ dir: path.join(dir, 'log') });
  await log.ensureTopic(TOPIC, 2);
  db = await createPgliteDatabase({ dir: path.join(dir, 'db') });
});
afterEach(async () => {
  await log.close();
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/** The counting projection, whose evolve throws `error()` on the record with body `body` while `failing()` holds. */
const failingOn = (body: string, failing: () => boolean, error: () => Error) => {
  const base = countingProjection({ topic: TOPIC });
  return {
    ...base,
    evolve: (entry: LogEntry) => {
      if ((entry.value as { body: string }).body === body && failing()) throw error();
      return base.evolve(entry);
    },
  };
};

const applied = async (): Promise<number> => Number((await db.query<{ c: number }>('SELECT count(*) AS c FROM counting_rows')).rows[0]!.c);

describe('the supervised consumer runtime', () => {
  it('retries a transient failure until it passes, losing and repeating nothing', async () => {
    let failures = 0;
    const refused = () => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const supervisor = createSupervisor({ policy: { initialDelayMs: 20, maxDelayMs: 50 } });
    const projection = failingOn('message 30', () => ++failures <= 8, refused);
    const running = await startProjection({ projection, log, db, supervisor, maxBatchSize: 10 });
    await appendRecords(log, TOPIC, 0, 60);
    const [last] = await log.append(TOPIC, [{ key: '!room0:test', value: { body: 'last' } }]);
    // A read-your-writes wait survives the retries and is answered once the record is applied.
    expect(await running.waitFor(last!.partition, last!.offset, 20_000)).toBe(true);
    for (let p = 0; p < 2; p++) expect(await running.waitFor(p, (await log.endOffset(TOPIC, p)) - 1, 20_000)).toBe(true);
    expect(await applied()).toBe(61);
    expect(failures).toBeGreaterThan(8);
    expect(supervisor.statuses()).toEqual([expect.objectContaining({ name: 'counting', state: 'running' })]);
    // Each attempt meets the record twice: in its batch, then alone to pin the failure on it.
    expect(supervisor.statuses()[0]!.retries).toBeGreaterThanOrEqual(4);
    await running.stop();
    await expect(running.done).resolves.toBeUndefined();
    expect(supervisor.statuses()[0]!.state).toBe('closed');
  });

  it('stops on a record that keeps failing with an unknown error, after the policy\'s attempts', async () => {
    let attempts = 0;
    const supervisor = createSupervisor({ policy: { initialDelayMs: 10, maxDelayMs: 20, maxUnknownAttempts: 3 } });
    const projection = failingOn('message 7', () => { attempts++; return true; }, () => new Error('cannot project message 7'));
    const running = await startProjection({ projection, log, db, supervisor });
    await appendRecords(log, TOPIC, 0, 20);
    const failure = await running.done.then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(ConsumerStoppedError);
    const status = supervisor.statuses()[0]!;
    expect(status).toMatchObject({ state: 'stopped', kind: 'unknown', error: expect.stringContaining('cannot project message 7') as unknown });
    // Each attempt applied the batch whole, then entry by entry to find the record.
    expect(attempts).toBeGreaterThanOrEqual(3);
    const { rows } = await db.query<{ partition: number; log_offset: number }>(
      "SELECT partition, log_offset FROM counting_rows WHERE body = 'message 7'");
    expect(rows).toEqual([]);
    const poison = (await log.read(TOPIC, status.at!.partition, status.at!.offset, 1))[0]!;
    expect(poison.value).toEqual({ body: 'message 7' });
    // Everything before the poison record in its partition was applied.
    const before = (await db.query<{ c: number }>('SELECT count(*) AS c FROM counting_rows WHERE partition = $1 AND log_offset < $2',
      [status.at!.partition, status.at!.offset])).rows[0]!.c;
    expect(Number(before)).toBe(status.at!.offset);
  });
});
