/**
 * Thumbnails for clients (client-server-api § Thumbnails): authenticated under
 * `/_matrix/client/v1/media` (v1.11), and on the legacy unauthenticated `/_matrix/media/v3` only
 * for media stored before authenticated media, as its downloads (Synapse with
 * `enable_authenticated_media`). The media core resolves the media (pending uploads, quarantine);
 * the thumbnail use-case picks or renders the thumbnail.
 */
import type { Router } from '@koa/router';
import { MatrixError } from '../../domain/index.ts';
import { readWhole, type Media, type ThumbnailRequest, type Thumbnails } from '../../domain/app/media/index.ts';
import { allowGuests } from '../client/accounts/index.ts';
import type { RequestState, StrataContext, StrataMiddleware } from '../http/index.ts';
import { allowRemoteOf, mediaSecurityHeaders, timeoutMsOf } from './clientRoutes.ts';
import { contentDisposition } from './headers.ts';

const LEGACY_PREFIXES = ['/_matrix/media/v3', '/_matrix/media/r0'] as const;
const AUTHENTICATED_PREFIX = '/_matrix/client/v1/media';

export interface ThumbnailRouteOptions {
  readonly media: Pick<Media, 'download'>;
  readonly thumbnails: Thumbnails;
  readonly auth: StrataMiddleware;
}

const FILE_EXTENSIONS: Readonly<Record<string, string>> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp' };

/** The file name a thumbnail is served under (the spec, v1.12: inline, naming a file). */
export const thumbnailFileName = (contentType: string): string => `thumbnail.${FILE_EXTENSIONS[contentType] ?? 'png'}`;

const single = (ctx: StrataContext, name: string): string | undefined => {
  const value = ctx.query[name];
  if (Array.isArray(value)) throw new MatrixError('M_INVALID_PARAM', 400, `'${name}' must be given once`);
  return value;
};

/** `width` and `height`: required positive integers (Synapse: M_MISSING_PARAM when absent). */
const dimension = (ctx: StrataContext, name: 'width' | 'height'): number => {
  const value = single(ctx, name);
  if (value === undefined) throw new MatrixError('M_MISSING_PARAM', 400, `Missing integer query parameter '${name}'`);
  if (!/^\d{1,9}$/.test(value) || Number(value) === 0) {
    throw new MatrixError('M_INVALID_PARAM', 400, `Query parameter '${name}' must be a positive integer`);
  }
  return Number(value);
};

/** The request's query, checked before any media is looked up. */
export const thumbnailRequestOf = (ctx: StrataContext): ThumbnailRequest => {
  const width = dimension(ctx, 'width');
  const height = dimension(ctx, 'height');
  const method = single(ctx, 'method') ?? 'scale';
  if (method !== 'scale' && method !== 'crop') throw new MatrixError('M_INVALID_PARAM', 400, "'method' must be 'scale' or 'crop'");
  const animated = single(ctx, 'animated') ?? 'false';
  if (animated !== 'true' && animated !== 'false') throw new MatrixError('M_INVALID_PARAM', 400, "'animated' must be true or false");
  return { width, height, method, animated: animated === 'true' };
};

export const addThumbnailRoutes = (router: Router<RequestState>, options: ThumbnailRouteOptions): void => {
  const { media, thumbnails, auth } = options;

  const thumbnail = (legacy: boolean) => async (ctx: StrataContext & { params: Record<string, string | undefined> }) => {
    const request = thumbnailRequestOf(ctx);
    const timeoutMs = timeoutMsOf(ctx);
    const allowRemote = allowRemoteOf(ctx);
    // Another server's media is fetched whole and kept, then thumbnailed here (as Synapse does).
    const found = await media.download({
      serverName: ctx.params.serverName!, mediaId: ctx.params.mediaId!, legacy,
      ...(timeoutMs === undefined ? {} : { timeoutMs }), ...(allowRemote === undefined ? {} : { allowRemote }),
    });
    const answer = await thumbnails.thumbnail({
      serverName: found.record.serverName, mediaId: found.record.mediaId, contentType: found.content.contentType,
      read: () => readWhole(found.blob),
    }, request);
    ctx.set('Content-Type', answer.contentType);
    // Thumbnails are only of the inline-safe image types, so always inline.
    ctx.set('Content-Disposition', contentDisposition(answer.contentType, thumbnailFileName(answer.contentType)));
    ctx.set('Cache-Control', 'public,max-age=86400,s-maxage=86400');
    ctx.body = Buffer.from(answer.bytes.buffer, answer.bytes.byteOffset, answer.bytes.byteLength);
  };

  const paths = (prefix: string) => [`${prefix}/thumbnail/:serverName/:mediaId`];
  router.get(paths(AUTHENTICATED_PREFIX), mediaSecurityHeaders, allowGuests, auth, thumbnail(false));
  router.get(LEGACY_PREFIXES.flatMap(paths), mediaSecurityHeaders, thumbnail(true));
};
