/** The rooms router: room membership, events, state, timelines, aliases and the room directory. */
import { Router } from '@koa/router';
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import type { Rooms } from '../../../domain/app/rooms/index.ts';
import type { RequestState, StrataRouter } from '../../http/index.ts';
import { requireAccessToken } from '../accounts/index.ts';
import { addDirectoryRoutes } from './directoryRoutes.ts';
import { addEventRoutes } from './eventRoutes.ts';
import { addMembershipRoutes } from './membershipRoutes.ts';

export interface RoomsRouterOptions {
  readonly rooms: Rooms;
  readonly accounts: Pick<Accounts, 'authenticate'>;
}

export const createRoomsRouter = (options: RoomsRouterOptions): StrataRouter => {
  const router = new Router<RequestState>();
  const auth = requireAccessToken(options.accounts);
  addMembershipRoutes(router, options.rooms, auth);
  addEventRoutes(router, options.rooms, auth);
  addDirectoryRoutes(router, options.rooms, auth);
  return router;
};
