/**
 * The content repository's use-cases (client-server-api § Content repository): uploads, direct or
 * asynchronous (v1.7: create a media id, then upload its content once), downloads and the
 * configuration clients read. Bytes pass through as streams, bounded while they flow, so an upload
 * is never held in memory whole.
 */
import { MatrixError } from '../../errors.ts';
import { BoundedMap } from '../../boundedMap.ts';
import { isServerName } from '../../ids/index.ts';
import type { MediaBlob, MediaContent, MediaRecord } from '../../ports/index.ts';
import { MAX_PENDING_UPLOADS, UNUSED_EXPIRATION_MS, type MediaContext } from './context.ts';
import { createUploadWaiters } from './waiters.ts';

/** Media ids as Synapse mints and accepts them; nothing else can name a path or inject a header. */
const MEDIA_ID = /^[A-Za-z0-9_-]{1,255}$/;
const MEDIA_ID_LENGTH = 24;
const MEDIA_ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** `timeout_ms`: the spec's default; Synapse caps what a client may ask for at a minute. */
export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 20_000;
export const MAX_DOWNLOAD_TIMEOUT_MS = 60_000;
/** Bounds of what an upload names itself: a MIME type is short ASCII; a file name is metadata only. */
const MAX_CONTENT_TYPE_LENGTH = 255;
const CONTENT_TYPE = /^[\x21-\x7e][\x20-\x7e]*$/;
const MAX_UPLOAD_NAME_BYTES = 1024;
/** Last access is for expiry and admin listings: a minute's precision is plenty, and spares a write per download. */
const ACCESS_WRITE_INTERVAL_MS = 60_000;
const ACCESS_MEMORY = 10_000;

export interface UploadRequest {
  readonly uploader: string;
  readonly body: AsyncIterable<Uint8Array>;
  /** The declared Content-Length, when there is one: refused at once if over the limit. */
  readonly declaredLength?: number;
  readonly contentType?: string;
  readonly uploadName?: string;
}

export interface Download {
  readonly record: MediaRecord;
  readonly content: MediaContent;
  readonly blob: MediaBlob;
}

export interface DownloadRequest {
  readonly serverName: string;
  readonly mediaId: string;
  /** How long to wait for a pending asynchronous upload (ms). */
  readonly timeoutMs?: number;
  /** Through the unauthenticated `/_matrix/media/v3` endpoints: only media stored before the switch. */
  readonly legacy?: boolean;
  /** `allow_remote`: false answers 404 for another server's media not held here (default true). */
  readonly allowRemote?: boolean;
}

export interface Media {
  upload(request: UploadRequest): Promise<{ readonly contentUri: string }>;
  create(uploader: string): Promise<{ readonly contentUri: string; readonly unusedExpiresAt: number }>;
  uploadTo(request: UploadRequest & { readonly serverName: string; readonly mediaId: string }): Promise<void>;
  download(request: DownloadRequest): Promise<Download>;
  config(): { readonly 'm.upload.size': number };
  /** Removes asynchronous uploads whose content never came in time; answers how many. */
  sweepLapsedUploads(): Promise<number>;
}

export const notFound = (): MatrixError => new MatrixError('M_NOT_FOUND', 404, 'Media not found');
const tooLarge = (max: number) => new MatrixError('M_TOO_LARGE', 413, `Upload is larger than the limit of ${max} bytes`);

/** Whether a media id is one this server would mint or accept. */
export const isMediaId = (mediaId: string): boolean => MEDIA_ID.test(mediaId);

/** Passes the body on, failing with M_TOO_LARGE as soon as it exceeds `max` bytes. */
async function* bounded(body: AsyncIterable<Uint8Array>, max: number): AsyncIterable<Uint8Array> {
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) throw tooLarge(max);
    yield chunk;
  }
}

const utf8Bytes = (value: string): number => new TextEncoder().encode(value).length;

/** A remote's content type, kept when it is one this server would accept from an upload. */
const contentTypeOrDefault = (value: string): string =>
  (value.length <= MAX_CONTENT_TYPE_LENGTH && CONTENT_TYPE.test(value) ? value : 'application/octet-stream');

const contentTypeOf = (value: string | undefined): string => {
  if (value === undefined || value.trim() === '') return 'application/octet-stream';
  if (value.length > MAX_CONTENT_TYPE_LENGTH || !CONTENT_TYPE.test(value)) {
    throw new MatrixError('M_INVALID_PARAM', 400, 'Content-Type must be a MIME type of printable ASCII');
  }
  return value;
};

const uploadNameOf = (value: string | undefined): string | undefined => {
  if (value === undefined || value === '') return undefined;
  if (utf8Bytes(value) > MAX_UPLOAD_NAME_BYTES) throw new MatrixError('M_INVALID_PARAM', 400, `filename is longer than ${MAX_UPLOAD_NAME_BYTES} bytes`);
  return value;
};

export const createMedia = (ctx: MediaContext): Media => {
  const waiters = createUploadWaiters();
  const contentUri = (mediaId: string) => `mxc://${ctx.serverName}/${mediaId}`;
  const newMediaId = () => ctx.random.string(MEDIA_ID_LENGTH, MEDIA_ID_ALPHABET);

  /** Stores the body as a blob, checked before a byte is read, bounded while it streams. */
  const storeBody = async (request: UploadRequest): Promise<MediaContent> => {
    const contentType = contentTypeOf(request.contentType);
    const uploadName = uploadNameOf(request.uploadName);
    if (request.declaredLength !== undefined && request.declaredLength > ctx.maxUploadSize) throw tooLarge(ctx.maxUploadSize);
    const blob = await ctx.store.put(bounded(request.body, ctx.maxUploadSize));
    return { contentType, size: blob.size, sha256: blob.sha256, ...(uploadName === undefined ? {} : { uploadName }) };
  };

  /** A blob stored for a record that never came to be goes, unless other media shares it. */
  const dropUnreferenced = async (sha256: string): Promise<void> => {
    if (!(await ctx.repository.referencesBlob(sha256))) await ctx.store.delete(sha256);
  };

  /** When each recently served media item's last access was written (Synapse batches these too). */
  const accessWritten = new BoundedMap<string, number>(ACCESS_MEMORY);
  /** Writes a download's last access, at most once per ACCESS_WRITE_INTERVAL_MS per media item. */
  const recordAccess = async (record: MediaRecord): Promise<void> => {
    const now = ctx.clock.now();
    const key = `${record.serverName}/${record.mediaId}`;
    const written = accessWritten.get(key);
    if (written !== undefined && now - written < ACCESS_WRITE_INTERVAL_MS) return;
    accessWritten.set(key, now);
    await ctx.repository.recordAccess(record.serverName, record.mediaId, now);
  };

  /** Fetches in flight, so concurrent downloads of one remote media item ask its server once. */
  const fetching = new Map<string, Promise<MediaRecord>>();

  /** Stores another server's media as it answered, once; answers the stored record. */
  const fetchRemote = async (serverName: string, mediaId: string, timeoutMs: number): Promise<MediaRecord> => {
    const remote = ctx.remote!;
    const answer = await remote.download(serverName, mediaId, { maxBytes: ctx.maxUploadSize, timeoutMs });
    const blob = await ctx.store.put(bounded(answer.body, ctx.maxUploadSize));
    const now = ctx.clock.now();
    const content: MediaContent = {
      contentType: contentTypeOrDefault(answer.contentType), size: blob.size, sha256: blob.sha256,
      ...(answer.uploadName === undefined || utf8Bytes(answer.uploadName) > MAX_UPLOAD_NAME_BYTES ? {} : { uploadName: answer.uploadName }),
    };
    const record: MediaRecord = { serverName, mediaId, createdTs: now, lastAccessTs: now, authenticated: true, content };
    if (!(await ctx.repository.insert(record))) {
      await dropUnreferenced(blob.sha256);
      const stored = await ctx.repository.get(serverName, mediaId);
      if (stored === undefined) throw notFound();
      return stored;
    }
    await ctx.derivatives?.stored({ serverName, mediaId, content });
    return record;
  };

  /** Other servers' media: from the cache, else fetched over federation (unless `allow_remote` is false). */
  const remoteDownload = async (request: DownloadRequest): Promise<Download> => {
    if (!isServerName(request.serverName)) throw notFound();
    let record = await ctx.repository.get(request.serverName, request.mediaId);
    if (record === undefined || record.content === undefined) {
      if (ctx.remote === undefined || request.allowRemote === false || request.legacy === true) throw notFound();
      const key = `${request.serverName}/${request.mediaId}`;
      let pending = fetching.get(key);
      if (pending === undefined) {
        const timeoutMs = Math.min(Math.max(request.timeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS, 0), MAX_DOWNLOAD_TIMEOUT_MS);
        pending = fetchRemote(request.serverName, request.mediaId, timeoutMs).finally(() => fetching.delete(key));
        fetching.set(key, pending);
      }
      record = await pending;
    }
    if (record.quarantinedBy !== undefined || record.content === undefined) throw notFound();
    if (request.legacy === true && record.authenticated) throw notFound();
    const blob = await ctx.store.get(record.content.sha256);
    if (blob === undefined) throw notFound();
    await recordAccess(record);
    return { record, content: record.content, blob };
  };

  const pendingOrNotFound = async (serverName: string, mediaId: string): Promise<MediaRecord> => {
    const record = serverName === ctx.serverName && isMediaId(mediaId) ? await ctx.repository.get(serverName, mediaId) : undefined;
    if (record === undefined) throw notFound();
    return record;
  };

  return {
    async upload(request) {
      const content = await storeBody(request);
      let mediaId = newMediaId();
      try {
        while (!(await ctx.repository.insert({
          serverName: ctx.serverName, mediaId, uploader: request.uploader, createdTs: ctx.clock.now(), authenticated: true, content,
        }))) mediaId = newMediaId();
      } catch (error) {
        await dropUnreferenced(content.sha256);
        throw error;
      }
      await ctx.derivatives?.stored({ serverName: ctx.serverName, mediaId, content });
      return { contentUri: contentUri(mediaId) };
    },

    async create(uploader) {
      const now = ctx.clock.now();
      const pending = await ctx.repository.pendingUploads(uploader, now);
      if (pending.count >= MAX_PENDING_UPLOADS) {
        // As Synapse: the client may retry once the first pending id lapses.
        throw new MatrixError('M_LIMIT_EXCEEDED', 429, 'Too many pending media uploads',
          pending.firstExpiresAt === undefined ? {} : { retry_after_ms: Math.max(pending.firstExpiresAt - now, 0) });
      }
      const unusedExpiresAt = now + UNUSED_EXPIRATION_MS;
      for (;;) {
        const mediaId = newMediaId();
        if (await ctx.repository.insert({ serverName: ctx.serverName, mediaId, uploader, createdTs: now, authenticated: true, unusedExpiresAt })) {
          return { contentUri: contentUri(mediaId), unusedExpiresAt };
        }
      }
    },

    async uploadTo(request) {
      const record = await pendingOrNotFound(request.serverName, request.mediaId);
      // Checked before the body is read, so nobody streams bytes only to be refused.
      if (record.uploader !== request.uploader) throw new MatrixError('M_FORBIDDEN', 403, 'You may not upload to this media id');
      if (record.content !== undefined) throw cannotOverwrite();
      if ((record.unusedExpiresAt ?? 0) <= ctx.clock.now()) throw notFound();
      const content = await storeBody(request);
      if (!(await ctx.repository.complete(record.serverName, record.mediaId, content, ctx.clock.now()))) {
        await dropUnreferenced(content.sha256);
        // Another upload won the race, or the id lapsed meanwhile.
        const now = await ctx.repository.get(record.serverName, record.mediaId);
        throw now?.content !== undefined ? cannotOverwrite() : notFound();
      }
      await ctx.derivatives?.stored({ serverName: record.serverName, mediaId: record.mediaId, content });
      waiters.wake(record.serverName, record.mediaId);
    },

    async download(request) {
      if (!isMediaId(request.mediaId)) throw notFound();
      if (request.serverName !== ctx.serverName) return remoteDownload(request);
      const timeoutMs = Math.min(Math.max(request.timeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS, 0), MAX_DOWNLOAD_TIMEOUT_MS);
      const deadline = ctx.clock.now() + timeoutMs;
      for (;;) {
        const wait = waiters.waitFor(request.serverName, request.mediaId);
        try {
          const record = await ctx.repository.get(request.serverName, request.mediaId);
          if (record === undefined || record.quarantinedBy !== undefined) throw notFound();
          // Synapse with `enable_authenticated_media`: newer media is not found on the legacy endpoints.
          if (request.legacy === true && record.authenticated) throw notFound();
          if (record.content !== undefined) {
            const blob = await ctx.store.get(record.content.sha256);
            if (blob === undefined) throw notFound();
            await recordAccess(record);
            return { record, content: record.content, blob };
          }
          const now = ctx.clock.now();
          if ((record.unusedExpiresAt ?? 0) <= now) throw notFound();
          if (now >= deadline) throw new MatrixError('M_NOT_YET_UPLOADED', 504, 'Media has not been uploaded yet');
          await wait.until(Math.min(deadline, record.unusedExpiresAt ?? deadline) - now);
        } finally {
          wait.cancel();
        }
      }
    },

    config: () => ({ 'm.upload.size': ctx.maxUploadSize }),

    sweepLapsedUploads: () => ctx.repository.deleteLapsedPending(ctx.clock.now()),
  };
};

const cannotOverwrite = () => new MatrixError('M_CANNOT_OVERWRITE_MEDIA', 409, 'Media ID already has content');
