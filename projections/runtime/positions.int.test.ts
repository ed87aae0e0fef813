// How a read model's batches commit, on PostgreSQL and PGlite: asynchronously (the log can replay
// what an OS crash takes), while every other transaction on the same database stays synchronous.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogEntry, SqlDatabase } from '../../domain/ports/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { openTestSchema } from '../../test/harness/index.ts';
import { applyBatch, ensureSchema } from './positions.ts';
import type { Projection } from './projection.ts';

/** Records, with each entry, the synchronous_commit its transaction ran with. */
const settingProjection: Projection = {
  name: 'commit_setting', version: 1, topic: 'room.events',
  schema: ['CREATE TABLE IF NOT EXISTS commit_setting_rows (log_offset bigint PRIMARY KEY, setting text NOT NULL)'],
  tables: ['commit_setting_rows'],
  evolve: (entry) => [{
    text: "INSERT INTO commit_setting_rows (log_offset, setting) VALUES ($1, current_setting('synchronous_commit'))",
    values: [entry.offset],
  }],
};

const entry = (offset: number): LogEntry => ({ topic: 'room.events', partition: 0, offset, key: '!r:x', value: {}, headers: {}, timestamp: 0 });

const commitsAsynchronously = async (db: SqlDatabase): Promise<void> => {
  await ensureSchema(db, settingProjection);
  // The first batch reads the stored position under a lock; the next ones compare-and-set it.
  expect(await applyBatch(db, settingProjection, 0, [entry(0), entry(1)])).toBe(2);
  expect(await applyBatch(db, settingProjection, 0, [entry(2)], 2)).toBe(3);
  const { rows } = await db.query<{ setting: string }>('SELECT setting FROM commit_setting_rows ORDER BY log_offset');
  expect(rows.map((row) => row.setting)).toEqual(['off', 'off', 'off']);
  const outside = await db.transaction((tx) => tx.query<{ setting: string }>("SELECT current_setting('synchronous_commit') AS setting"));
  expect(outside.rows[0]?.setting).toBe('on');
};

describe('a read model batch', () => {
  it('commits asynchronously on PostgreSQL, other transactions synchronously', async () => {
    const schema = await openTestSchema('positions', 2);
    try {
      await commitsAsynchronously(schema.db);
    } finally {
      await schema.drop();
    }
  });

  it('commits asynchronously on PGlite, other transactions synchronously', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-positions-'));
    const db = await createPgliteDatabase({ dir });
    try {
      await commitsAsynchronously(db);
    } finally {
      await db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
