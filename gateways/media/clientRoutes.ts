/**
 * The content repository for clients (client-server-api § Content repository): uploads under
 * `/_matrix/media/v3` (direct, and asynchronous since v1.7), authenticated downloads and the
 * configuration under `/_matrix/client/v1/media` (v1.11), and the legacy unauthenticated
 * `/_matrix/media/v3` downloads, which serve only media stored before authenticated media (as
 * Synapse with `enable_authenticated_media`). Upload bodies stream from the socket to the store:
 * the JSON body middleware never sees them.
 */
import { Readable } from 'node:stream';
import type { Router } from '@koa/router';
import { MatrixError, isMatrixError } from '../../domain/index.ts';
import type { Download, Media } from '../../domain/app/media/index.ts';
import { allowGuests, rateLimit, requesterOf, type RateLimiter } from '../client/accounts/index.ts';
import { closeAfterResponse, type RequestState, type StrataContext, type StrataMiddleware } from '../http/index.ts';
import { contentDisposition, MEDIA_SECURITY_HEADERS, servedContentType } from './headers.ts';

const LEGACY_PREFIXES = ['/_matrix/media/v3', '/_matrix/media/r0'] as const;
const AUTHENTICATED_PREFIX = '/_matrix/client/v1/media';

export interface MediaRouteOptions {
  readonly media: Media;
  readonly auth: StrataMiddleware;
  /** Uploads and asynchronous creations per user (Synapse's `rc_media_create`); null = unlimited. */
  readonly uploadLimiter: RateLimiter | null;
  /** Longest pause between two chunks of an upload before it is given up (default 30 s, as JSON bodies). */
  readonly uploadIdleTimeoutMs?: number;
}

const UPLOAD_IDLE_TIMEOUT_MS = 30_000;

/**
 * The request body, given up when the client pauses longer than `idleMs` between chunks: a stalled
 * upload would otherwise hold its connection and temporary file until Node's request timeout.
 */
async function* idleBounded(req: StrataContext['req'], idleMs: number): AsyncIterable<Uint8Array> {
  const timer = setTimeout(() => req.destroy(new MatrixError('M_UNKNOWN', 408, 'Timed out reading the upload')), idleMs);
  try {
    // The body stays readable when the consumer stops early (a refusal), so its rest can be discarded.
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
      timer.refresh();
      yield chunk as Uint8Array;
    }
  } finally {
    clearTimeout(timer);
  }
}

const singleQuery = (ctx: StrataContext, name: string): string | undefined => {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new MatrixError('M_INVALID_PARAM', 400, `'${name}' must be given once`);
  return value;
};

/** `timeout_ms` (v1.7): a non-negative integer. */
export const timeoutMsOf = (ctx: StrataContext): number | undefined => {
  const value = singleQuery(ctx, 'timeout_ms');
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new MatrixError('M_INVALID_PARAM', 400, "'timeout_ms' must be a non-negative integer");
  return Number(value);
};

/** `allow_remote`: false keeps a download from fetching another server's media (avoids loops between servers). */
export const allowRemoteOf = (ctx: StrataContext): boolean | undefined => {
  const value = singleQuery(ctx, 'allow_remote');
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw new MatrixError('M_INVALID_PARAM', 400, "'allow_remote' must be true or false");
  return value === 'true';
};

/** Sets the security headers every media answer carries, errors included. */
export const mediaSecurityHeaders: StrataMiddleware = async (ctx, next) => {
  ctx.set(MEDIA_SECURITY_HEADERS);
  await next();
};

/** Upload bodies read straight from the request: a refusal mid-body closes the connection after answering. */
const uploadFrom = async <T>(
  ctx: StrataContext, limits: { readonly idleMs: number; readonly discardBytes: number }, upload: (body: AsyncIterable<Uint8Array>) => Promise<T>,
): Promise<T> => {
  try {
    return await upload(idleBounded(ctx.req, limits.idleMs));
  } catch (error) {
    // A client that went away mid-body is not a server fault (the store removed what it wrote).
    if (!isMatrixError(error) && ctx.req.destroyed && !ctx.req.complete) throw new MatrixError('M_UNKNOWN', 400, 'Client aborted the upload');
    // A refused upload (413 and kin) is read to its end before the answer goes out, within bounds,
    // so the client reads the answer instead of a reset of a connection it is still writing to.
    if (!ctx.req.readableEnded && !ctx.req.destroyed) {
      const declared = ctx.request.length;
      const drained = (declared === undefined || declared <= limits.discardBytes) && await discardRest(ctx.req, limits.discardBytes, limits.idleMs);
      if (!drained) closeAfterResponse(ctx);
    }
    throw error;
  }
};

/** Reads and drops what is left of a body; true once it ended within `maxBytes`, false when given up. */
const discardRest = (req: StrataContext['req'], maxBytes: number, idleMs: number): Promise<boolean> => new Promise((resolve) => {
  let size = 0;
  const finish = (ended: boolean) => {
    clearTimeout(timer);
    req.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
    if (!ended) req.pause();
    resolve(ended);
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) finish(false);
    else timer.refresh();
  };
  const onEnd = () => finish(true);
  const onGone = () => finish(false);
  const timer = setTimeout(() => finish(false), idleMs);
  req.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  req.resume();
});

const sendDownload = (ctx: StrataContext, download: Download, fileName: string | undefined): void => {
  const type = download.content.contentType;
  ctx.set('Content-Type', servedContentType(type));
  ctx.set('Content-Disposition', contentDisposition(type, fileName ?? download.content.uploadName));
  ctx.set('Cache-Control', 'public,max-age=86400,s-maxage=86400');
  ctx.body = Readable.from(download.blob.read(), { objectMode: false });
  ctx.length = download.blob.size;
};

export const addMediaRoutes = (router: Router<RequestState>, options: MediaRouteOptions): void => {
  const { media, auth } = options;
  const limit = rateLimit(options.uploadLimiter);
  // What is left of a refused upload is read and dropped up to twice the upload limit; past that the connection closes.
  const limits = { idleMs: options.uploadIdleTimeoutMs ?? UPLOAD_IDLE_TIMEOUT_MS, discardBytes: 2 * media.config()['m.upload.size'] };

  router.post(LEGACY_PREFIXES.map((prefix) => `${prefix}/upload`), auth, limit, async (ctx) => {
    const uploadName = singleQuery(ctx, 'filename');
    const declared = ctx.request.length;
    const { contentUri } = await uploadFrom(ctx, limits, (body) => media.upload({
      uploader: requesterOf(ctx).userId, body, contentType: ctx.get('Content-Type'),
      ...(declared === undefined ? {} : { declaredLength: declared }),
      ...(uploadName === undefined ? {} : { uploadName }),
    }));
    ctx.body = { content_uri: contentUri };
  });

  router.post('/_matrix/media/v1/create', auth, limit, async (ctx) => {
    const created = await media.create(requesterOf(ctx).userId);
    ctx.body = { content_uri: created.contentUri, unused_expires_at: created.unusedExpiresAt };
  });

  router.put(LEGACY_PREFIXES.map((prefix) => `${prefix}/upload/:serverName/:mediaId`), auth, async (ctx) => {
    const uploadName = singleQuery(ctx, 'filename');
    const declared = ctx.request.length;
    await uploadFrom(ctx, limits, (body) => media.uploadTo({
      uploader: requesterOf(ctx).userId, serverName: ctx.params.serverName!, mediaId: ctx.params.mediaId!, body,
      contentType: ctx.get('Content-Type'),
      ...(declared === undefined ? {} : { declaredLength: declared }),
      ...(uploadName === undefined ? {} : { uploadName }),
    }));
    ctx.body = {};
  });

  const download = (legacy: boolean) => async (ctx: StrataContext & { params: Record<string, string | undefined> }) => {
    const timeoutMs = timeoutMsOf(ctx);
    const allowRemote = allowRemoteOf(ctx);
    const found = await media.download({
      serverName: ctx.params.serverName!, mediaId: ctx.params.mediaId!, legacy,
      ...(timeoutMs === undefined ? {} : { timeoutMs }), ...(allowRemote === undefined ? {} : { allowRemote }),
    });
    sendDownload(ctx, found, ctx.params.fileName);
  };
  const downloadPaths = (prefix: string) => [`${prefix}/download/:serverName/:mediaId`, `${prefix}/download/:serverName/:mediaId/:fileName`];
  router.get(downloadPaths(AUTHENTICATED_PREFIX), mediaSecurityHeaders, allowGuests, auth, download(false));
  router.get(LEGACY_PREFIXES.flatMap(downloadPaths), mediaSecurityHeaders, download(true));

  const config = (ctx: StrataContext) => {
    ctx.body = media.config();
  };
  // Guests may read media (as Synapse lets them) but not upload, so the upload limit is not theirs.
  router.get(`${AUTHENTICATED_PREFIX}/config`, auth, config);
  router.get(LEGACY_PREFIXES.map((prefix) => `${prefix}/config`), auth, config);
};
