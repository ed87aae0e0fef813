/**
 * Thumbnails of media (client-server-api § Thumbnails): the configured sizes are made when an image
 * is stored, any other size when first asked and kept for the next request. The caller resolves the
 * media (authentication, pending uploads, remote fetches); this use-case only sees its type and bytes.
 */
import { MatrixError } from '../../errors.ts';
import type { MediaBlob, MediaRepository, MediaStore } from '../../ports/media.ts';
import type { MediaDerivatives } from './context.ts';
import {
  ThumbnailError, type ImageProbe, type ThumbnailMethod, type ThumbnailRecord, type ThumbnailSpec, type ThumbnailStore,
  type Thumbnailer,
} from '../../ports/thumbnails.ts';
import {
  precomputedSpecs, staticThumbnailType, storedThumbnailFor, wantFor, type ThumbnailSize, type ThumbnailWant,
} from './thumbnailsPlan.ts';

/** Where thumbnail bytes are kept: the media store, by SHA-256. */
export interface ThumbnailBlobs {
  put(bytes: Uint8Array): Promise<{ sha256: string }>;
  /** Undefined when the blob is gone (deleted media, a purged cache). */
  read(sha256: string): Promise<Uint8Array | undefined>;
  /** Deletes the blob unless a thumbnail or a media item still uses it. */
  release(sha256: string): Promise<void>;
}

/** Reads a blob whole: thumbnails are made from and answered as bytes in memory, bounded by the upload limit. */
export const readWhole = async (blob: MediaBlob): Promise<Uint8Array> => {
  const bytes = new Uint8Array(blob.size);
  let at = 0;
  for await (const chunk of blob.read()) {
    if (at + chunk.byteLength > blob.size) throw new Error('a media blob is longer than recorded');
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  return at === blob.size ? bytes : bytes.subarray(0, at);
};

/** Thumbnail bytes in the media store, beside the originals; shared blobs are kept while used. */
export const mediaStoreThumbnailBlobs = (
  store: MediaStore, repository: Pick<MediaRepository, 'referencesBlob'>, thumbnails: Pick<ThumbnailStore, 'referencesBlob'>,
): ThumbnailBlobs => ({
  put: (bytes) => store.put((async function* once() {
    yield bytes;
  })()),
  async read(sha256) {
    const blob = await store.get(sha256);
    return blob === undefined ? undefined : readWhole(blob);
  },
  async release(sha256) {
    if (await thumbnails.referencesBlob(sha256) || await repository.referencesBlob(sha256)) return;
    await store.delete(sha256);
  },
});

/** The media a thumbnail is asked of, as the media core resolved it. */
export interface ThumbnailedMedia {
  readonly serverName: string;
  readonly mediaId: string;
  readonly contentType: string;
  /** The original's bytes, read only when a thumbnail must be rendered. */
  readonly read: () => Promise<Uint8Array>;
}

export interface ThumbnailRequest {
  readonly width: number;
  readonly height: number;
  readonly method: ThumbnailMethod;
  readonly animated: boolean;
}

export interface ThumbnailAnswer {
  readonly bytes: Uint8Array;
  readonly contentType: string;
  readonly width: number;
  readonly height: number;
}

export interface Thumbnails {
  /** Makes the configured sizes of freshly stored media; media that is no image is left alone. */
  precompute(media: ThumbnailedMedia): Promise<void>;
  /** The thumbnail answering a request: a stored one that serves it, else one rendered and kept. */
  thumbnail(media: ThumbnailedMedia, request: ThumbnailRequest): Promise<ThumbnailAnswer>;
  /** Forgets a media's thumbnails (its deletion), releasing their blobs. */
  forget(serverName: string, mediaId: string): Promise<void>;
}

export interface ThumbnailsDependencies {
  readonly thumbnailer: Thumbnailer;
  readonly store: ThumbnailStore;
  readonly blobs: ThumbnailBlobs;
  readonly now: () => number;
  /** `thumbnail_sizes`. */
  readonly sizes: readonly ThumbnailSize[];
  /**
   * Thumbnails kept per media beyond which rendered ones are answered but not kept, so that a client
   * walking through sizes cannot fill the store.
   */
  readonly maxStoredPerMedia?: number;
}

const DEFAULT_MAX_STORED_PER_MEDIA = 64;

/** Synapse's refusals: what cannot be thumbnailed is 400 M_UNKNOWN, a decompression bomb 413. */
const refusal = (error: unknown): never => {
  if (error instanceof ThumbnailError) {
    if (error.reason === 'too_large') throw new MatrixError('M_TOO_LARGE', 413, 'The image is too large to thumbnail');
    throw new MatrixError('M_UNKNOWN', 400, 'Cannot generate thumbnails for the requested content');
  }
  throw error;
};

const notThumbnailable = (): MatrixError => new MatrixError('M_UNKNOWN', 400, 'Cannot generate thumbnails for the requested content');

export const createThumbnails = (deps: ThumbnailsDependencies): Thumbnails => {
  const maxStored = deps.maxStoredPerMedia ?? DEFAULT_MAX_STORED_PER_MEDIA;
  // One render per wanted thumbnail at a time: concurrent identical requests share it.
  const rendering = new Map<string, Promise<ThumbnailAnswer>>();

  /** Keeps a rendered thumbnail under the size it was wanted at, which later requests compute the same way. */
  const keep = async (media: ThumbnailedMedia, spec: ThumbnailSpec, bytes: Uint8Array): Promise<void> => {
    const { sha256 } = await deps.blobs.put(bytes);
    const record: ThumbnailRecord = {
      serverName: media.serverName, mediaId: media.mediaId, width: spec.width, height: spec.height, method: spec.method,
      contentType: spec.contentType, animated: spec.animated, sha256, length: bytes.byteLength, createdTs: deps.now(),
    };
    await deps.store.add(record);
  };

  /** The image as it displays, remembered beside its thumbnails so that serving one reads no original. */
  const probeOf = async (media: ThumbnailedMedia, original?: Uint8Array): Promise<ImageProbe> => {
    const known = await deps.store.probeOf(media.serverName, media.mediaId);
    if (known !== undefined) return known;
    const image = await deps.thumbnailer.probe(original ?? await media.read()).catch(refusal);
    await deps.store.keepProbe(media.serverName, media.mediaId, image);
    return image;
  };

  const readStored = async (record: ThumbnailRecord | undefined): Promise<ThumbnailAnswer | undefined> => {
    if (record === undefined) return undefined;
    const bytes = await deps.blobs.read(record.sha256);
    return bytes === undefined ? undefined : { bytes, contentType: record.contentType, width: record.width, height: record.height };
  };

  const render = async (media: ThumbnailedMedia, want: ThumbnailWant, storedCount: number): Promise<ThumbnailAnswer> => {
    const rendered = await deps.thumbnailer.render(await media.read(), want).catch(refusal);
    if (storedCount < maxStored) await keep(media, want, rendered.bytes);
    return rendered;
  };

  return {
    async precompute(media) {
      if (staticThumbnailType(media.contentType) === undefined) return;
      const original = await media.read();
      let image: ImageProbe;
      try {
        image = await probeOf(media, original);
      } catch (error) {
        // An image that cannot be decoded (or is too large) is stored all the same, unthumbnailed.
        if (error instanceof MatrixError) return;
        throw error;
      }
      const kept = new Set((await deps.store.list(media.serverName, media.mediaId))
        .map((record) => `${record.width}x${record.height}/${record.method}/${record.contentType}/${record.animated}`));
      for (const spec of precomputedSpecs(image, media.contentType, deps.sizes)) {
        if (kept.has(`${spec.width}x${spec.height}/${spec.method}/${spec.contentType}/${spec.animated}`)) continue;
        const rendered = await deps.thumbnailer.render(original, spec).catch((error: unknown) => {
          if (error instanceof ThumbnailError) return undefined;
          throw error;
        });
        if (rendered === undefined) return;
        await keep(media, spec, rendered.bytes);
      }
    },

    async thumbnail(media, request) {
      if (staticThumbnailType(media.contentType) === undefined) throw notThumbnailable();
      const want = wantFor(await probeOf(media), media.contentType, request);
      if (want === undefined) throw notThumbnailable();
      const stored = await deps.store.list(media.serverName, media.mediaId);
      const served = await readStored(storedThumbnailFor(want, stored));
      if (served !== undefined) return served;
      const key = `${media.serverName}/${media.mediaId}/${want.width}x${want.height}/${want.method}/${want.contentType}`;
      const pending = rendering.get(key);
      if (pending !== undefined) return pending;
      const started = render(media, want, stored.length).finally(() => rendering.delete(key));
      rendering.set(key, started);
      return started;
    },

    async forget(serverName, mediaId) {
      for (const sha256 of await deps.store.deleteAll(serverName, mediaId)) await deps.blobs.release(sha256);
    },
  };
};

/**
 * Thumbnails as the media core's derivatives: the configured sizes made when content is stored
 * (a failure reported, never failing the upload), forgotten with the media.
 */
export const thumbnailDerivatives = (
  thumbnails: Thumbnails, store: MediaStore, report: (error: unknown, media: { serverName: string; mediaId: string }) => void,
): MediaDerivatives => ({
  async stored({ serverName, mediaId, content }) {
    const read = async (): Promise<Uint8Array> => {
      const blob = await store.get(content.sha256);
      if (blob === undefined) throw new Error(`the blob ${content.sha256} of ${serverName}/${mediaId} is missing`);
      return readWhole(blob);
    };
    await thumbnails.precompute({ serverName, mediaId, contentType: content.contentType, read })
      .catch((error: unknown) => report(error, { serverName, mediaId }));
  },
  deleted: (serverName, mediaId) => thumbnails.forget(serverName, mediaId),
});
