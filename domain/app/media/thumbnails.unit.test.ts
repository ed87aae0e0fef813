import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import { ThumbnailError, type ImageProbe, type ThumbnailRecord, type ThumbnailStore, type Thumbnailer } from '../../ports/thumbnails.ts';
import { createThumbnails, type ThumbnailBlobs, type ThumbnailedMedia } from './thumbnails.ts';
import { DEFAULT_THUMBNAIL_SIZES } from './thumbnailsPlan.ts';

const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const decode = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(bytes));

/** "Images" are JSON probes here; `bomb` and `junk` stand for what a real codec refuses. */
const fakeThumbnailer = () => {
  const calls = { probe: 0, render: 0 };
  const probe = (bytes: Uint8Array): Promise<ImageProbe> => {
    calls.probe += 1;
    const text = new TextDecoder().decode(bytes);
    if (text === 'bomb') return Promise.reject(new ThumbnailError('too_large', 'too many pixels'));
    if (text === 'junk') return Promise.reject(new ThumbnailError('undecodable', 'no image'));
    return Promise.resolve(JSON.parse(text) as ImageProbe);
  };
  const thumbnailer: Thumbnailer = {
    probe,
    async render(bytes, spec) {
      await probe(bytes);
      calls.render += 1;
      return { bytes: encode(spec), width: spec.width, height: spec.height, contentType: spec.contentType };
    },
  };
  return { thumbnailer, calls };
};

const memoryStore = (): ThumbnailStore & { records: ThumbnailRecord[] } => {
  const records: ThumbnailRecord[] = [];
  const probes = new Map<string, ImageProbe>();
  const same = (a: ThumbnailRecord, b: ThumbnailRecord) => a.serverName === b.serverName && a.mediaId === b.mediaId && a.width === b.width
    && a.height === b.height && a.method === b.method && a.contentType === b.contentType && a.animated === b.animated;
  return {
    records,
    list: (serverName, mediaId) => Promise.resolve(records.filter((r) => r.serverName === serverName && r.mediaId === mediaId)),
    add: (record) => {
      const at = records.findIndex((r) => same(r, record));
      if (at === -1) records.push(record);
      else records[at] = { ...records[at]!, sha256: record.sha256, length: record.length };
      return Promise.resolve();
    },
    probeOf: (serverName, mediaId) => Promise.resolve(probes.get(`${serverName}/${mediaId}`)),
    keepProbe: (serverName, mediaId, probe) => {
      probes.set(`${serverName}/${mediaId}`, probe);
      return Promise.resolve();
    },
    referencesBlob: (sha256) => Promise.resolve(records.some((r) => r.sha256 === sha256)),
    deleteAll: (serverName, mediaId) => {
      const gone = records.filter((r) => r.serverName === serverName && r.mediaId === mediaId);
      records.splice(0, records.length, ...records.filter((r) => !gone.includes(r)));
      probes.delete(`${serverName}/${mediaId}`);
      return Promise.resolve(gone.map((r) => r.sha256));
    },
  };
};

const memoryBlobs = (): ThumbnailBlobs & { blobs: Map<string, Uint8Array> } => {
  const blobs = new Map<string, Uint8Array>();
  return {
    blobs,
    put: (bytes) => {
      const sha256 = `h${blobs.size}-${new TextDecoder().decode(bytes)}`;
      blobs.set(sha256, bytes);
      return Promise.resolve({ sha256 });
    },
    read: (sha256) => Promise.resolve(blobs.get(sha256)),
    release: (sha256) => {
      blobs.delete(sha256);
      return Promise.resolve();
    },
  };
};

const setup = (maxStoredPerMedia?: number) => {
  const { thumbnailer, calls } = fakeThumbnailer();
  const store = memoryStore();
  const blobs = memoryBlobs();
  const thumbnails = createThumbnails({ thumbnailer, store, blobs, now: () => 1, sizes: DEFAULT_THUMBNAIL_SIZES, maxStoredPerMedia });
  let reads = 0;
  const media = (contentType: string, image: unknown, mediaId = 'abc'): ThumbnailedMedia => ({
    serverName: 'example.org', mediaId, contentType,
    read: () => {
      reads += 1;
      return Promise.resolve(typeof image === 'string' ? new TextEncoder().encode(image) : encode(image));
    },
  });
  return { thumbnails, store, blobs, calls, media, reads: () => reads };
};

const matrixError = async (work: Promise<unknown>): Promise<MatrixError> => {
  const error = await work.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(MatrixError);
  return error as MatrixError;
};

const request = (width: number, height: number, method: 'scale' | 'crop', animated = false) => ({ width, height, method, animated });

describe('thumbnails', () => {
  it('makes the configured sizes at upload and serves them without rendering or reading the original', async () => {
    const t = setup();
    const photo = t.media('image/jpeg', { width: 2000, height: 1000, animated: false });
    await t.thumbnails.precompute(photo);
    expect(t.store.records.map((r) => `${r.width}x${r.height} ${r.method} ${r.contentType}`)).toEqual([
      '32x32 crop image/jpeg', '96x96 crop image/jpeg', '320x160 scale image/jpeg', '640x320 scale image/jpeg', '800x400 scale image/jpeg',
    ]);
    const renders = t.calls.render;
    const reads = t.reads();
    const answer = await t.thumbnails.thumbnail(photo, request(64, 64, 'crop'));
    expect([answer.width, answer.height, answer.contentType]).toEqual([96, 96, 'image/jpeg']);
    expect(await t.thumbnails.thumbnail(photo, request(300, 200, 'scale'))).toMatchObject({ width: 320, height: 160 });
    expect(t.calls.render).toBe(renders);
    expect(t.reads()).toBe(reads);
  });

  it('renders another size once, keeps it, and serves it from then on', async () => {
    const t = setup();
    const photo = t.media('image/png', { width: 2000, height: 1000, animated: false });
    const first = await t.thumbnails.thumbnail(photo, request(200, 150, 'crop'));
    expect(decode(first.bytes)).toEqual({ width: 200, height: 150, method: 'crop', contentType: 'image/png', animated: false });
    expect(t.calls.render).toBe(1);
    const again = await t.thumbnails.thumbnail(photo, request(200, 150, 'crop'));
    expect(again.bytes).toEqual(first.bytes);
    expect(t.calls.render).toBe(1);
    expect(t.store.records).toHaveLength(1);
  });

  it('renders concurrent identical requests once', async () => {
    const t = setup();
    const photo = t.media('image/png', { width: 500, height: 500, animated: false });
    const answers = await Promise.all([1, 2, 3, 4].map(() => t.thumbnails.thumbnail(photo, request(123, 45, 'crop'))));
    expect(new Set(answers.map((a) => new TextDecoder().decode(a.bytes))).size).toBe(1);
    expect(t.calls.render).toBe(1);
  });

  it('never answers larger than the original', async () => {
    const t = setup();
    const small = t.media('image/png', { width: 40, height: 20, animated: false });
    expect(await t.thumbnails.thumbnail(small, request(800, 600, 'scale'))).toMatchObject({ width: 40, height: 20 });
    expect(await t.thumbnails.thumbnail(small, request(96, 96, 'crop'))).toMatchObject({ width: 20, height: 20 });
  });

  it('animates only an animated source asked animated=true', async () => {
    const t = setup();
    const gif = t.media('image/gif', { width: 100, height: 100, animated: true });
    expect(await t.thumbnails.thumbnail(gif, request(50, 50, 'scale', true))).toMatchObject({ contentType: 'image/webp' });
    expect(await t.thumbnails.thumbnail(gif, request(50, 50, 'scale', false))).toMatchObject({ contentType: 'image/png' });
    expect(t.store.records.map((r) => r.animated)).toEqual([true, false]);
  });

  it('refuses media that is no image (400), an undecodable image (400) and a decompression bomb (413)', async () => {
    const t = setup();
    const pdf = await matrixError(t.thumbnails.thumbnail(t.media('application/pdf', 'x'), request(32, 32, 'crop')));
    expect([pdf.status, pdf.errcode]).toEqual([400, 'M_UNKNOWN']);
    const junk = await matrixError(t.thumbnails.thumbnail(t.media('image/png', 'junk'), request(32, 32, 'crop')));
    expect([junk.status, junk.errcode]).toEqual([400, 'M_UNKNOWN']);
    const bomb = await matrixError(t.thumbnails.thumbnail(t.media('image/png', 'bomb'), request(32, 32, 'crop')));
    expect([bomb.status, bomb.errcode]).toEqual([413, 'M_TOO_LARGE']);
    // At upload, such media is simply not thumbnailed.
    await t.thumbnails.precompute(t.media('image/png', 'junk'));
    await t.thumbnails.precompute(t.media('image/png', 'bomb'));
    await t.thumbnails.precompute(t.media('text/plain', 'hello'));
    expect(t.store.records).toEqual([]);
  });

  it('stops keeping thumbnails of a media past the bound, still answering', async () => {
    const t = setup(2);
    const photo = t.media('image/png', { width: 1000, height: 1000, animated: false });
    for (const size of [100, 110, 120, 130]) {
      expect(await t.thumbnails.thumbnail(photo, request(size, size, 'crop'))).toMatchObject({ width: size });
    }
    expect(t.store.records).toHaveLength(2);
  });

  it('renders again when a kept thumbnail\'s bytes are gone, and forgets them with the media', async () => {
    const t = setup();
    const photo = t.media('image/png', { width: 1000, height: 1000, animated: false });
    await t.thumbnails.precompute(photo);
    t.blobs.blobs.clear();
    expect(await t.thumbnails.thumbnail(photo, request(96, 96, 'crop'))).toMatchObject({ width: 96, height: 96 });
    expect(t.blobs.blobs.size).toBe(1);
    await t.thumbnails.forget('example.org', 'abc');
    expect(t.store.records).toEqual([]);
    expect(t.blobs.blobs.size).toBe(0);
  });
});
