// Kept URL previews against the real PostgreSQL (a schema of its own) and PGlite, one suite for both.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDatabase, UrlPreviewCache } from '../../../domain/index.ts';
import { openTestSchema } from '../../../test/harness/index.ts';
import { createPgliteDatabase } from '../../pglite/index.ts';
import { createSqlUrlPreviewCache, ensureUrlPreviewsSchema } from './sqlCache.ts';

type Open = () => Promise<{ db: SqlDatabase; close: () => Promise<void> }>;

const openPostgres: Open = async () => {
  const schema = await openTestSchema('url_previews');
  return { db: schema.db, close: () => schema.drop() };
};
const dirs: string[] = [];
const openPglite: Open = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-url-previews-'));
  dirs.push(dir);
  const db = await createPgliteDatabase({ dir });
  return { db, close: () => db.close() };
};
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe.each<[string, Open]>([['PostgreSQL', openPostgres], ['PGlite', openPglite]])('SqlUrlPreviewCache (%s)', (_name, open) => {
  let db: SqlDatabase;
  let close: () => Promise<void>;
  let cache: UrlPreviewCache;

  beforeAll(async () => {
    ({ db, close } = await open());
    cache = await createSqlUrlPreviewCache(db);
    // Applying the schema again (another process, a restart) changes nothing.
    await ensureUrlPreviewsSchema(db);
  });
  afterAll(() => close());

  it('answers the preview as it stood at ts: the newest made at or before, else the oldest after', async () => {
    const url = 'https://site.example/history';
    await cache.keep(url, { og: { 'og:title': 'first', 'matrix:image:size': 12 }, downloadTs: 1_000, expiresTs: 5_000 });
    await cache.keep(url, { og: { 'og:title': 'second' }, downloadTs: 3_000, expiresTs: 7_000 });
    expect(await cache.previewAt(url, 2_000)).toEqual({ og: { 'og:title': 'first', 'matrix:image:size': 12 }, downloadTs: 1_000, expiresTs: 5_000 });
    expect(await cache.previewAt(url, 3_000)).toMatchObject({ og: { 'og:title': 'second' } });
    expect(await cache.previewAt(url, 500)).toMatchObject({ og: { 'og:title': 'first' } });
    expect(await cache.previewAt('https://site.example/other', 2_000)).toBeUndefined();
  });

  it('replaces a preview made at the same instant, and forgets expired ones', async () => {
    const url = 'https://site.example/expiry';
    await cache.keep(url, { og: { 'og:title': 'a' }, downloadTs: 10_000, expiresTs: 11_000 });
    await cache.keep(url, { og: { 'og:title': 'b' }, downloadTs: 10_000, expiresTs: 12_000 });
    expect(await cache.previewAt(url, 10_000)).toEqual({ og: { 'og:title': 'b' }, downloadTs: 10_000, expiresTs: 12_000 });
    expect(await cache.forgetExpired(11_500)).toBe(2);
    expect(await cache.previewAt(url, 10_000)).toMatchObject({ og: { 'og:title': 'b' } });
    expect(await cache.forgetExpired(12_001)).toBe(1);
    expect(await cache.previewAt(url, 10_000)).toBeUndefined();
  });
});
