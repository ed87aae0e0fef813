import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { SqlDatabase, ThumbnailRecord } from '../../domain/index.ts';
import { createPgliteDatabase } from '../pglite/index.ts';
import { createPostgresDatabase } from '../postgres/index.ts';
import { createSqlThumbnailStore, ensureMediaThumbnailsSchema } from './thumbnailsStore.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const databases: Record<string, () => Promise<SqlDatabase>> = {
  PostgreSQL: () => createPostgresDatabase({ url: inject('strataTestServices').postgresUrl }),
  PGlite: async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-thumbnails-'));
    dirs.push(dir);
    return createPgliteDatabase({ dir });
  },
};

describe.each(Object.keys(databases))('thumbnail store on %s', (name) => {
  const withStore = async (work: (store: ReturnType<typeof createSqlThumbnailStore>, mediaId: string) => Promise<void>) => {
    const db = await databases[name]!();
    try {
      await ensureMediaThumbnailsSchema(db);
      await work(createSqlThumbnailStore(db), `m${randomUUID().replaceAll('-', '')}`);
    } finally {
      await db.close();
    }
  };

  const record = (mediaId: string, width: number, overrides: Partial<ThumbnailRecord> = {}): ThumbnailRecord => ({
    serverName: 'example.org', mediaId, width, height: width, method: 'crop', contentType: 'image/png', animated: false,
    sha256: `sha-${width}`, length: width * 10, createdTs: width, ...overrides,
  });

  it('keeps thumbnails per media, oldest first, a later one of a kind replacing its bytes', async () => {
    await withStore(async (store, mediaId) => {
      await store.add(record(mediaId, 96));
      await store.add(record(mediaId, 32));
      await store.add(record(mediaId, 96, { sha256: 'other', createdTs: 500 }));
      await store.add(record(mediaId, 96, { animated: true, contentType: 'image/webp', createdTs: 600 }));
      await store.add(record(`${mediaId}x`, 64));
      const listed = await store.list('example.org', mediaId);
      expect(listed.map((r) => [r.width, r.sha256, r.animated])).toEqual([[32, 'sha-32', false], [96, 'other', false], [96, 'sha-96', true]]);
      expect(listed[0]).toEqual(record(mediaId, 32));
      expect(await store.list('other.example', mediaId)).toEqual([]);
    });
  });

  it('remembers an image\'s probe and forgets everything of a media at once', async () => {
    await withStore(async (store, mediaId) => {
      expect(await store.probeOf('example.org', mediaId)).toBeUndefined();
      await store.keepProbe('example.org', mediaId, { width: 640, height: 480, animated: true });
      await store.keepProbe('example.org', mediaId, { width: 1, height: 1, animated: false });
      expect(await store.probeOf('example.org', mediaId)).toEqual({ width: 640, height: 480, animated: true });
      await store.add(record(mediaId, 32));
      await store.add(record(mediaId, 96, { sha256: 'sha-32' }));
      await store.add(record(mediaId, 64, { method: 'scale' }));
      const sha = `sha-${mediaId}`;
      await store.add(record(mediaId, 48, { sha256: sha }));
      expect(await store.referencesBlob(sha)).toBe(true);
      expect((await store.deleteAll('example.org', mediaId)).sort()).toEqual(['sha-32', 'sha-64', sha].sort());
      expect(await store.referencesBlob(sha)).toBe(false);
      expect(await store.list('example.org', mediaId)).toEqual([]);
      expect(await store.probeOf('example.org', mediaId)).toBeUndefined();
    });
  });
});

describe('thumbnail schema', () => {
  it('can be applied by several processes at once and again later', async () => {
    const url = inject('strataTestServices').postgresUrl;
    const dbs = await Promise.all([1, 2, 3].map(() => createPostgresDatabase({ url })));
    try {
      await Promise.all(dbs.map((db) => ensureMediaThumbnailsSchema(db)));
      await ensureMediaThumbnailsSchema(dbs[0]!);
      const { rows } = await dbs[0]!.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('media_thumbnails', 'media_image_probes')",
      );
      expect(rows[0]?.n).toBe(2);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});
