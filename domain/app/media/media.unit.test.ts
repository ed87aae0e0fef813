// The content repository's use-cases over in-memory ports: limits, asynchronous upload rules,
// waiting downloads, the legacy switch, quarantine and the admin API.
import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { MediaBlob, MediaRecord, MediaRepository, MediaStore, RemoteMedia } from '../../ports/index.ts';
import { createMedia, createMediaAdmin, MAX_PENDING_UPLOADS, UNUSED_EXPIRATION_MS, type MediaContext } from './index.ts';

const HERE = 'media.test';

const memoryStore = (): MediaStore & { readonly blobs: Map<string, Uint8Array> } => {
  const blobs = new Map<string, Uint8Array>();
  return {
    blobs,
    async put(body) {
      const parts: Uint8Array[] = [];
      for await (const part of body) parts.push(part);
      const bytes = Buffer.concat(parts);
      // A stand-in address (the bytes in hex): equal bytes share one, as under SHA-256.
      const sha256 = `x${bytes.toString('hex')}`;
      blobs.set(sha256, bytes);
      return { sha256, size: bytes.length };
    },
    async get(sha256): Promise<MediaBlob | undefined> {
      const bytes = blobs.get(sha256);
      return bytes === undefined ? undefined : { size: bytes.length, read: async function* () { yield bytes; } };
    },
    async delete(sha256) {
      blobs.delete(sha256);
    },
  };
};

const memoryRepository = (): MediaRepository => {
  const records = new Map<string, MediaRecord>();
  const key = (serverName: string, mediaId: string) => `${serverName}/${mediaId}`;
  return {
    async insert(record) {
      if (records.has(key(record.serverName, record.mediaId))) return false;
      records.set(key(record.serverName, record.mediaId), record);
      return true;
    },
    get: async (serverName, mediaId) => records.get(key(serverName, mediaId)),
    async complete(serverName, mediaId, content, now) {
      const record = records.get(key(serverName, mediaId));
      if (record === undefined || record.content !== undefined || (record.unusedExpiresAt ?? 0) <= now) return false;
      const { unusedExpiresAt: _lapse, ...rest } = record;
      records.set(key(serverName, mediaId), { ...rest, content });
      return true;
    },
    async pendingUploads(uploader, now) {
      const pending = [...records.values()].filter((r) => r.uploader === uploader && r.content === undefined && (r.unusedExpiresAt ?? 0) > now);
      const first = Math.min(...pending.map((r) => r.unusedExpiresAt!));
      return { count: pending.length, ...(pending.length === 0 ? {} : { firstExpiresAt: first }) };
    },
    async recordAccess(serverName, mediaId, at) {
      const record = records.get(key(serverName, mediaId));
      if (record !== undefined) records.set(key(serverName, mediaId), { ...record, lastAccessTs: at });
    },
    async setQuarantine(serverName, mediaId, by) {
      const record = records.get(key(serverName, mediaId));
      if (record === undefined) return false;
      const { quarantinedBy: _was, ...rest } = record;
      records.set(key(serverName, mediaId), by === undefined ? rest : { ...rest, quarantinedBy: by });
      return true;
    },
    async delete(serverName, mediaId) {
      const record = records.get(key(serverName, mediaId));
      records.delete(key(serverName, mediaId));
      return record;
    },
    referencesBlob: async (sha256) => [...records.values()].some((r) => r.content?.sha256 === sha256),
    async deleteLapsedPending(now) {
      const lapsed = [...records.entries()].filter(([, r]) => r.content === undefined && (r.unusedExpiresAt ?? 0) <= now);
      for (const [k] of lapsed) records.delete(k);
      return lapsed.length;
    },
    async deleteRemoteUnusedSince(local, before) {
      const old = [...records.entries()].filter(([, r]) => r.serverName !== local && (r.lastAccessTs ?? r.createdTs) < before);
      for (const [k] of old) records.delete(k);
      return old.map(([, r]) => r);
    },
    async listByUploader(uploader, query) {
      const mine = [...records.values()].filter((r) => r.uploader === uploader);
      return { media: mine.slice(query.from, query.from + query.limit), total: mine.length };
    },
  };
};

const setup = (maxUploadSize = 100, remote?: RemoteMedia) => {
  let now = 1_000_000;
  let counter = 0;
  const store = memoryStore();
  const repository = memoryRepository();
  const ctx: MediaContext = {
    serverName: HERE, store, repository, maxUploadSize, ...(remote === undefined ? {} : { remote }),
    clock: { now: () => now },
    random: { string: () => `media${++counter}` },
    isAdmin: async (userId) => userId === '@root:media.test',
  };
  return { media: createMedia(ctx), admin: createMediaAdmin(ctx), store, repository, advance: (ms: number) => { now += ms; } };
};

async function* body(...parts: string[]): AsyncIterable<Uint8Array> {
  for (const part of parts) yield Buffer.from(part);
}

const errorOf = async (promise: Promise<unknown>): Promise<{ status: number; errcode: string }> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MatrixError) return { status: error.status, errcode: error.errcode };
    throw error;
  }
  throw new Error('expected a MatrixError');
};

const mediaIdOf = (contentUri: string): string => contentUri.split('/').pop()!;

describe('media use-cases', () => {
  it('uploads, then downloads through the authenticated endpoints only', async () => {
    const { media, repository, advance } = setup();
    const { contentUri } = await media.upload({ uploader: '@a:media.test', body: body('hel', 'lo'), contentType: 'text/plain', uploadName: 'hi.txt' });
    expect(contentUri).toBe('mxc://media.test/media1');
    const found = await media.download({ serverName: HERE, mediaId: 'media1' });
    expect(found.content).toMatchObject({ contentType: 'text/plain', size: 5, uploadName: 'hi.txt' });
    expect((await repository.get(HERE, 'media1'))?.lastAccessTs).toBe(1_000_000);
    // Last access is written at most once a minute per media item.
    advance(30_000);
    await media.download({ serverName: HERE, mediaId: 'media1' });
    expect((await repository.get(HERE, 'media1'))?.lastAccessTs).toBe(1_000_000);
    advance(30_000);
    await media.download({ serverName: HERE, mediaId: 'media1' });
    expect((await repository.get(HERE, 'media1'))?.lastAccessTs).toBe(1_060_000);
    expect(await errorOf(media.download({ serverName: HERE, mediaId: 'media1', legacy: true }))).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
  });

  it('serves media stored before authenticated media on the legacy endpoints too', async () => {
    const { media, repository, store } = setup();
    const blob = await store.put(body('old'));
    await repository.insert({ serverName: HERE, mediaId: 'legacy', createdTs: 0, authenticated: false, content: { contentType: 'text/plain', ...blob } });
    expect((await media.download({ serverName: HERE, mediaId: 'legacy', legacy: true })).content.size).toBe(3);
  });

  it('refuses a body over the limit, declared or streamed, and keeps nothing of it', async () => {
    const { media, store } = setup(10);
    expect(await errorOf(media.upload({ uploader: '@a:media.test', body: body('x'), declaredLength: 11 }))).toEqual({ status: 413, errcode: 'M_TOO_LARGE' });
    expect(await errorOf(media.upload({ uploader: '@a:media.test', body: body('123456', '789012') }))).toEqual({ status: 413, errcode: 'M_TOO_LARGE' });
    expect(store.blobs.size).toBe(0);
    expect((await media.upload({ uploader: '@a:media.test', body: body('1234567890') })).contentUri).toMatch(/^mxc:/);
    expect(media.config()).toEqual({ 'm.upload.size': 10 });
  });

  it('defaults the content type and refuses one that could break a header', async () => {
    const { media } = setup();
    await media.upload({ uploader: '@a:media.test', body: body(), contentType: '' });
    expect((await media.download({ serverName: HERE, mediaId: 'media1' })).content.contentType).toBe('application/octet-stream');
    expect(await errorOf(media.upload({ uploader: '@a:media.test', body: body(), contentType: 'text/plain\r\nX: y' }))).toEqual({ status: 400, errcode: 'M_INVALID_PARAM' });
    expect(await errorOf(media.upload({ uploader: '@a:media.test', body: body(), uploadName: 'x'.repeat(2000) }))).toEqual({ status: 400, errcode: 'M_INVALID_PARAM' });
  });

  it('answers 404 for remote, malformed and unknown media ids', async () => {
    const { media } = setup();
    for (const [serverName, mediaId] of [['other.test', 'media1'], [HERE, '../etc'], [HERE, 'nosuch'], [HERE, '']] as const) {
      expect(await errorOf(media.download({ serverName, mediaId }))).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
    }
  });

  it('lets only the creator upload to an asynchronous media id, once, before it lapses', async () => {
    const { media, advance } = setup();
    const created = await media.create('@a:media.test');
    expect(created.unusedExpiresAt).toBe(1_000_000 + UNUSED_EXPIRATION_MS);
    const mediaId = mediaIdOf(created.contentUri);
    expect(await errorOf(media.uploadTo({ uploader: '@b:media.test', serverName: HERE, mediaId, body: body('x') }))).toEqual({ status: 403, errcode: 'M_FORBIDDEN' });
    await media.uploadTo({ uploader: '@a:media.test', serverName: HERE, mediaId, body: body('x') });
    expect(await errorOf(media.uploadTo({ uploader: '@a:media.test', serverName: HERE, mediaId, body: body('y') }))).toEqual({ status: 409, errcode: 'M_CANNOT_OVERWRITE_MEDIA' });

    const lapsing = mediaIdOf((await media.create('@a:media.test')).contentUri);
    advance(UNUSED_EXPIRATION_MS);
    expect(await errorOf(media.uploadTo({ uploader: '@a:media.test', serverName: HERE, mediaId: lapsing, body: body('z') }))).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
    expect(await errorOf(media.download({ serverName: HERE, mediaId: lapsing, timeoutMs: 0 }))).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
    expect(await media.sweepLapsedUploads()).toBe(1);
  });

  it('limits how many asynchronous uploads a user may have pending', async () => {
    const { media } = setup();
    for (let i = 0; i < MAX_PENDING_UPLOADS; i++) await media.create('@a:media.test');
    expect(await errorOf(media.create('@a:media.test'))).toEqual({ status: 429, errcode: 'M_LIMIT_EXCEEDED' });
    const refusal = await media.create('@a:media.test').catch((error: unknown) => error as MatrixError);
    expect((refusal as MatrixError).extra).toEqual({ retry_after_ms: UNUSED_EXPIRATION_MS });
    await media.create('@b:media.test');
  });

  it('makes a download wait for a pending upload, up to timeout_ms', async () => {
    const { media } = setup();
    const mediaId = mediaIdOf((await media.create('@a:media.test')).contentUri);
    expect(await errorOf(media.download({ serverName: HERE, mediaId, timeoutMs: 0 }))).toEqual({ status: 504, errcode: 'M_NOT_YET_UPLOADED' });
    const waiting = media.download({ serverName: HERE, mediaId, timeoutMs: 5_000 });
    await media.uploadTo({ uploader: '@a:media.test', serverName: HERE, mediaId, body: body('arrived') });
    expect((await waiting).content.size).toBe(7);
  });

  it('hides quarantined media and lets only administrators quarantine, list, delete and purge', async () => {
    const { media, admin, store } = setup();
    await media.upload({ uploader: '@a:media.test', body: body('q') });
    expect(await errorOf(admin.quarantine('@a:media.test', HERE, 'media1', true))).toEqual({ status: 403, errcode: 'M_FORBIDDEN' });
    await admin.quarantine('@root:media.test', HERE, 'media1', true);
    expect(await errorOf(media.download({ serverName: HERE, mediaId: 'media1' }))).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
    await admin.quarantine('@root:media.test', HERE, 'media1', false);
    expect((await media.download({ serverName: HERE, mediaId: 'media1' })).content.size).toBe(1);

    expect((await admin.listUserMedia('@root:media.test', '@a:media.test', { from: 0, limit: 10, orderBy: 'created_ts', direction: 'f' })).total).toBe(1);
    // Two media ids share one blob: deleting one keeps it for the other.
    await media.upload({ uploader: '@a:media.test', body: body('q') });
    await admin.delete('@root:media.test', HERE, 'media1');
    expect(store.blobs.size).toBe(1);
    await admin.delete('@root:media.test', HERE, 'media2');
    expect(store.blobs.size).toBe(0);
    expect(await errorOf(admin.delete('@root:media.test', HERE, 'media2'))).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
    expect(await errorOf(admin.delete('@root:media.test', 'other.test', 'x'))).toEqual({ status: 400, errcode: 'M_INVALID_PARAM' });
    expect(await admin.purgeRemoteCache('@root:media.test', Date.now())).toBe(0);
    expect(await errorOf(admin.purgeRemoteCache('@a:media.test', Date.now()))).toEqual({ status: 403, errcode: 'M_FORBIDDEN' });
  });

  it('fetches another server\'s media once, keeps it, and fetches nothing when allow_remote is false', async () => {
    const asked: string[] = [];
    const remote: RemoteMedia = {
      async download(serverName, mediaId, options) {
        asked.push(`${serverName}/${mediaId}`);
        if (mediaId === 'gone') throw new MatrixError('M_NOT_FOUND', 404, 'Media not found');
        expect(options.maxBytes).toBe(100);
        return { contentType: 'image/png\r\nX: y', uploadName: 'far.png', body: body('far away') };
      },
    };
    const { media } = setup(100, remote);
    const [first, second] = await Promise.all([
      media.download({ serverName: 'far.test', mediaId: 'img' }), media.download({ serverName: 'far.test', mediaId: 'img' }),
    ]);
    // A content type that could break a header is not kept.
    expect(first.content).toMatchObject({ contentType: 'application/octet-stream', uploadName: 'far.png', size: 8 });
    expect(second.record.mediaId).toBe('img');
    expect((await media.download({ serverName: 'far.test', mediaId: 'img' })).content.size).toBe(8);
    expect(asked).toEqual(['far.test/img']);
    expect(await errorOf(media.download({ serverName: 'far.test', mediaId: 'other', allowRemote: false }))).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
    expect(await errorOf(media.download({ serverName: 'far.test', mediaId: 'gone' }))).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
    expect(await errorOf(media.download({ serverName: 'bad server/x', mediaId: 'img' }))).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
    expect(asked).toEqual(['far.test/img', 'far.test/gone']);
  });
});
