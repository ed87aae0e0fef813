/**
 * Thumbnails of our media for other servers (server-server-api § Content repository, v1.11):
 * `GET /_matrix/federation/v1/media/thumbnail/{mediaId}` takes the client endpoint's query and
 * answers `multipart/mixed` as the federation download does: a JSON part, then the thumbnail.
 */
import type { Router } from '@koa/router';
import type { Media, Thumbnails } from '../../domain/app/media/index.ts';
import { readWhole } from '../../domain/app/media/index.ts';
import type { RequestState, StrataMiddleware } from '../http/index.ts';
import { timeoutMsOf } from './clientRoutes.ts';
import { sendMultipartMedia } from './federationRoutes.ts';
import { contentDisposition } from './headers.ts';
import { thumbnailFileName, thumbnailRequestOf } from './thumbnailRoutes.ts';

export interface FederationThumbnailRouteOptions {
  readonly media: Pick<Media, 'download'>;
  readonly thumbnails: Thumbnails;
  readonly serverName: string;
  /** federationAuth: a signed request. */
  readonly auth: StrataMiddleware;
}

export const addFederationThumbnailRoute = (router: Router<RequestState>, options: FederationThumbnailRouteOptions): void => {
  router.get('/_matrix/federation/v1/media/thumbnail/:mediaId', options.auth, async (ctx) => {
    const request = thumbnailRequestOf(ctx);
    const timeoutMs = timeoutMsOf(ctx);
    const found = await options.media.download({
      serverName: options.serverName, mediaId: ctx.params.mediaId!, ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    const answer = await options.thumbnails.thumbnail({
      serverName: found.record.serverName, mediaId: found.record.mediaId, contentType: found.content.contentType,
      read: () => readWhole(found.blob),
    }, request);
    sendMultipartMedia(ctx, {
      contentType: answer.contentType,
      disposition: contentDisposition(answer.contentType, thumbnailFileName(answer.contentType)),
      size: answer.bytes.byteLength,
      read: async function* once() {
        yield answer.bytes;
      },
    });
  });
};
