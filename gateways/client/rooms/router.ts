/** The rooms router: room membership, events, state, timelines, aliases and the room directory. */
import { Router } from '@koa/router';
import type { Accounts } from '../../../domain/app/accounts/index.ts';
import type { Appservices } from '../../../domain/app/appservices/index.ts';
import { withBundledAggregations, type RoomModules, type RoomPeeking, type Rooms } from '../../../domain/app/rooms/index.ts';
import type { EventStream, LegacySync } from '../../../domain/app/sync/index.ts';
import type { RequestState, StrataRouter } from '../../http/index.ts';
import { createTokenBucketLimiter, rateLimit, requireAccessToken, type RateLimitSetting } from '../accounts/index.ts';
import { addDirectoryRoutes } from './directoryRoutes.ts';
import { addEventRoutes } from './eventRoutes.ts';
import { addMembershipRoutes, type ThirdPartyInviter } from './membershipRoutes.ts';
import { addModuleRoutes } from './moduleRoutes.ts';
import { addSpaceRoutes } from './spaceRoutes.ts';

export interface RoomsRouterOptions {
  readonly rooms: Rooms;
  readonly accounts: Pick<Accounts, 'authenticate'>;
  /** Per-user limit on sending events (send, state, redact); null or absent = unlimited. */
  readonly messageRateLimit?: RateLimitSetting | null;
  /** Relations, threads, user directory, summaries, reports…; with them /messages, /context and /event bundle aggregations. */
  readonly modules?: RoomModules;
  /** GET /events?room_id= (peeking_events.yaml); absent: the route is not served. */
  readonly peeking?: RoomPeeking;
  /** GET /events without room_id, the global event stream (old_sync.yaml); absent: not served. */
  readonly eventStream?: EventStream;
  /** /rooms/{roomId}/initialSync with presence, receipts and account data (sync/initialSync.ts). */
  readonly legacySync?: LegacySync;
  /** Invites by third-party identifier (`/invite` with `medium` and `address`); without it they are refused. */
  readonly thirdPartyInvites?: ThirdPartyInviter;
  /** Bridges publishing rooms in their networks' lists; absent: `/directory/list/appservice` is not served. */
  readonly appservices?: Pick<Appservices, 'setNetworkVisibility'>;
}

export const createRoomsRouter = (options: RoomsRouterOptions): StrataRouter => {
  const router = new Router<RequestState>();
  const auth = requireAccessToken(options.accounts);
  const rooms = options.modules === undefined ? options.rooms : withBundledAggregations(options.rooms, options.modules);
  addMembershipRoutes(router, rooms, auth, options.thirdPartyInvites);
  const limit = options.messageRateLimit ? createTokenBucketLimiter(options.messageRateLimit) : null;
  addEventRoutes(router, rooms, auth, rateLimit(limit));
  addDirectoryRoutes(router, rooms, auth, options.appservices);
  addSpaceRoutes(router, rooms, auth, {
    ...(options.peeking === undefined ? {} : { peeking: options.peeking }),
    ...(options.eventStream === undefined ? {} : { eventStream: options.eventStream }),
    ...(options.legacySync === undefined ? {} : { legacySync: options.legacySync }),
  });
  if (options.modules !== undefined) addModuleRoutes(router, options.modules, auth, options.accounts);
  return router;
};
