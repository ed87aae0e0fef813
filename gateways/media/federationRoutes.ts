/**
 * Our media for other servers (server-server-api § Content repository, v1.11):
 * `GET /_matrix/federation/v1/media/download/{mediaId}` answers `multipart/mixed`: a JSON part
 * (metadata, `{}` for now) then the bytes with their type and disposition, streamed. Signed
 * requests only; only media of this server is served (no server proxies another's media).
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Router } from '@koa/router';
import type { Media, Thumbnails } from '../../domain/app/media/index.ts';
import type { RequestState, StrataContext, StrataMiddleware, StrataRouter } from '../http/index.ts';
import { timeoutMsOf } from './clientRoutes.ts';
import { contentDisposition, servedContentType } from './headers.ts';
import { addFederationThumbnailRoute } from './thumbnailFederationRoutes.ts';

export interface FederationMediaRouterOptions {
  readonly media: Media;
  readonly serverName: string;
  /** federationAuth: every route here needs a signed request. */
  readonly auth: StrataMiddleware;
  readonly thumbnails: Thumbnails;
}

export interface MultipartMedia {
  readonly contentType: string;
  readonly disposition: string;
  readonly size: number;
  read(): AsyncIterable<Uint8Array>;
}

/**
 * Answers `multipart/mixed` with the metadata part and the media part, Content-Length known in
 * advance, the media streamed between its headers and the closing boundary (as Synapse's
 * MultipartFileConsumer writes it). The thumbnail route answers the same way.
 */
export const sendMultipartMedia = (ctx: StrataContext, media: MultipartMedia): void => {
  const boundary = randomBytes(16).toString('hex');
  const head = Buffer.from(
    `--${boundary}\r\nContent-Type: application/json\r\n\r\n{}\r\n`
    + `--${boundary}\r\nContent-Type: ${media.contentType}\r\nContent-Disposition: ${media.disposition}\r\n\r\n`,
    'utf8',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8');
  async function* parts(): AsyncIterable<Uint8Array> {
    yield head;
    yield* media.read();
    yield tail;
  }
  ctx.set('Content-Type', `multipart/mixed; boundary=${boundary}`);
  ctx.body = Readable.from(parts(), { objectMode: false });
  ctx.length = head.length + media.size + tail.length;
};

export const createFederationMediaRouter = (options: FederationMediaRouterOptions): StrataRouter => {
  const router = new Router<RequestState>();
  router.get('/_matrix/federation/v1/media/download/:mediaId', options.auth, async (ctx) => {
    const timeoutMs = timeoutMsOf(ctx);
    const found = await options.media.download({
      serverName: options.serverName, mediaId: ctx.params.mediaId!, ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    sendMultipartMedia(ctx, {
      contentType: servedContentType(found.content.contentType),
      disposition: contentDisposition(found.content.contentType, found.content.uploadName),
      size: found.blob.size,
      read: () => found.blob.read(),
    });
  });
  addFederationThumbnailRoute(router, options);
  return router;
};
