/** The rooms router: room membership, events, state, timelines, aliases and the room directory. */
import { Router } from '@koa/router';
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import type { Rooms } from '../../../domain/app/rooms/index.ts';
import type { RequestState, StrataRouter } from '../../http/index.ts';
import { createTokenBucketLimiter, rateLimit, requireAccessToken, type RateLimitSetting } from '../accounts/index.ts';
import { addDirectoryRoutes } from './directoryRoutes.ts';
import { addEventRoutes } from './eventRoutes.ts';
import { addMembershipRoutes } from './membershipRoutes.ts';

export interface RoomsRouterOptions {
  readonly rooms: Rooms;
  readonly accounts: Pick<Accounts, 'authenticate'>;
  /** Per-user limit on sending events (send, state, redact); null or absent = unlimited. */
  readonly messageRateLimit?: RateLimitSetting | null;
}

export const createRoomsRouter = (options: RoomsRouterOptions): StrataRouter => {
  const router = new Router<RequestState>();
  const auth = requireAccessToken(options.accounts);
  addMembershipRoutes(router, options.rooms, auth);
  const limit = options.messageRateLimit ? createTokenBucketLimiter(options.messageRateLimit) : null;
  addEventRoutes(router, options.rooms, auth, rateLimit(limit));
  addDirectoryRoutes(router, options.rooms, auth);
  return router;
};
