// Media metadata against the real PostgreSQL (a schema of its own) and PGlite, one suite for both.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MediaContent, MediaRepository, SqlDatabase } from '../../domain/ports/index.ts';
import { openTestSchema } from '../../test/harness/index.ts';
import { createPgliteDatabase } from '../pglite/index.ts';
import { createSqlMediaRepository, ensureMediaSchema } from './sqlMediaRepository.ts';

const HERE = 'media.test';
const content = (sha: string, extra: Partial<MediaContent> = {}): MediaContent => ({ contentType: 'text/plain', size: 5, sha256: sha.repeat(64).slice(0, 64), ...extra });

type Open = () => Promise<{ db: SqlDatabase; close: () => Promise<void> }>;

const openPostgres: Open = async () => {
  const schema = await openTestSchema('media');
  return { db: schema.db, close: () => schema.drop() };
};
const dirs: string[] = [];
const openPglite: Open = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-media-'));
  dirs.push(dir);
  const db = await createPgliteDatabase({ dir });
  return { db, close: () => db.close() };
};
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe.each<[string, Open]>([['PostgreSQL', openPostgres], ['PGlite', openPglite]])('SqlMediaRepository (%s)', (_name, open) => {
  let db: SqlDatabase;
  let close: () => Promise<void>;
  let repo: MediaRepository;

  beforeAll(async () => {
    ({ db, close } = await open());
    repo = await createSqlMediaRepository(db);
    // Applying the schema again (another process, a restart) changes nothing.
    await ensureMediaSchema(db);
  });
  afterAll(() => close());

  it('stores a record once per media id and reads it back', async () => {
    const record = { serverName: HERE, mediaId: 'uploaded', uploader: '@a:media.test', createdTs: 10, authenticated: true, content: content('a', { uploadName: 'a.txt' }) };
    expect(await repo.insert(record)).toBe(true);
    expect(await repo.insert({ ...record, uploader: '@b:media.test' })).toBe(false);
    expect(await repo.get(HERE, 'uploaded')).toEqual(record);
    expect(await repo.get('other.test', 'uploaded')).toBeUndefined();
    await repo.recordAccess(HERE, 'uploaded', 20);
    expect((await repo.get(HERE, 'uploaded'))?.lastAccessTs).toBe(20);
    expect(await repo.referencesBlob(content('a').sha256)).toBe(true);
    expect(await repo.referencesBlob(content('f').sha256)).toBe(false);
  });

  it('completes a pending upload only once and only before it lapses', async () => {
    await repo.insert({ serverName: HERE, mediaId: 'pending', uploader: '@p:media.test', createdTs: 0, authenticated: true, unusedExpiresAt: 1000 });
    await repo.insert({ serverName: HERE, mediaId: 'lapsing', uploader: '@p:media.test', createdTs: 0, authenticated: true, unusedExpiresAt: 100 });
    expect(await repo.pendingUploads('@p:media.test', 50)).toEqual({ count: 2, firstExpiresAt: 100 });
    expect(await repo.pendingUploads('@p:media.test', 500)).toEqual({ count: 1, firstExpiresAt: 1000 });
    expect(await repo.pendingUploads('@nobody:media.test', 500)).toEqual({ count: 0 });
    expect(await repo.complete(HERE, 'lapsing', content('b'), 500)).toBe(false);
    expect(await repo.complete(HERE, 'pending', content('b'), 500)).toBe(true);
    expect(await repo.complete(HERE, 'pending', content('c'), 500)).toBe(false);
    const done = await repo.get(HERE, 'pending');
    expect(done?.content?.sha256).toBe(content('b').sha256);
    expect(done?.unusedExpiresAt).toBeUndefined();
    expect(await repo.deleteLapsedPending(500)).toBe(1);
    expect(await repo.get(HERE, 'lapsing')).toBeUndefined();
    expect(await repo.get(HERE, 'pending')).toBeDefined();
  });

  it('quarantines, deletes and purges cached remote media', async () => {
    await repo.insert({ serverName: HERE, mediaId: 'q', uploader: '@q:media.test', createdTs: 0, authenticated: true, content: content('d') });
    expect(await repo.setQuarantine(HERE, 'q', '@admin:media.test')).toBe(true);
    expect((await repo.get(HERE, 'q'))?.quarantinedBy).toBe('@admin:media.test');
    expect(await repo.setQuarantine(HERE, 'q', undefined)).toBe(true);
    expect((await repo.get(HERE, 'q'))?.quarantinedBy).toBeUndefined();
    expect(await repo.setQuarantine(HERE, 'absent', '@admin:media.test')).toBe(false);
    expect((await repo.delete(HERE, 'q'))?.mediaId).toBe('q');
    expect(await repo.delete(HERE, 'q')).toBeUndefined();

    await repo.insert({ serverName: 'remote.test', mediaId: 'old', createdTs: 0, lastAccessTs: 100, authenticated: true, content: content('e') });
    await repo.insert({ serverName: 'remote.test', mediaId: 'fresh', createdTs: 0, lastAccessTs: 900, authenticated: true, content: content('e') });
    const purged = await repo.deleteRemoteUnusedSince(HERE, 500);
    expect(purged.map((record) => record.mediaId)).toEqual(['old']);
    expect(await repo.get('remote.test', 'fresh')).toBeDefined();
  });

  it('lists a user\'s media in pages, in the order asked', async () => {
    const user = '@lister:media.test';
    for (const [i, name] of ['c.txt', 'a.txt', 'b.txt'].entries()) {
      await repo.insert({ serverName: HERE, mediaId: `list${i}`, uploader: user, createdTs: 100 + i, authenticated: true, content: content('9', { uploadName: name, size: 10 - i }) });
    }
    const byCreated = await repo.listByUploader(user, { from: 0, limit: 2, orderBy: 'created_ts', direction: 'b' });
    expect(byCreated.total).toBe(3);
    expect(byCreated.media.map((record) => record.mediaId)).toEqual(['list2', 'list1']);
    const byName = await repo.listByUploader(user, { from: 1, limit: 10, orderBy: 'upload_name', direction: 'f' });
    expect(byName.media.map((record) => record.content?.uploadName)).toEqual(['b.txt', 'c.txt']);
    const bySize = await repo.listByUploader(user, { from: 0, limit: 10, orderBy: 'media_length', direction: 'f' });
    expect(bySize.media.map((record) => record.content?.size)).toEqual([8, 9, 10]);
  });
});
