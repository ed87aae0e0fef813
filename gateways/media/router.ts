/** The content repository's HTTP surface: client routes and Synapse's media admin API. */
import { Router } from '@koa/router';
import type { Accounts } from '../../domain/app/accounts/index.ts';
import type { Media, MediaAdmin, Thumbnails } from '../../domain/app/media/index.ts';
import { requireAccessToken, type RateLimiter } from '../client/accounts/index.ts';
import type { RequestState, StrataRouter } from '../http/index.ts';
import { addMediaAdminRoutes } from './adminRoutes.ts';
import { addMediaRoutes } from './clientRoutes.ts';
import { addThumbnailRoutes } from './thumbnailRoutes.ts';

export interface MediaRouterOptions {
  readonly media: Media;
  readonly admin: MediaAdmin;
  readonly accounts: Pick<Accounts, 'authenticate'>;
  readonly serverName: string;
  readonly uploadLimiter: RateLimiter | null;
  readonly thumbnails: Thumbnails;
}

export const createMediaRouter = (options: MediaRouterOptions): StrataRouter => {
  const router = new Router<RequestState>();
  const auth = requireAccessToken(options.accounts);
  addMediaRoutes(router, { media: options.media, auth, uploadLimiter: options.uploadLimiter });
  addThumbnailRoutes(router, { media: options.media, thumbnails: options.thumbnails, auth });
  addMediaAdminRoutes(router, options.admin, auth, options.serverName);
  return router;
};
