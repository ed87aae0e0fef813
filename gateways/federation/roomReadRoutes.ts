/**
 * The room reads of the server-server API, each behind federationAuth: `GET /event/{eventId}`,
 * `/state/{roomId}`, `/state_ids/{roomId}` (events.yaml), `/event_auth/{roomId}/{eventId}`
 * (event_auth.yaml), `/backfill/{roomId}`, `POST /get_missing_events/{roomId}` (backfill.yaml) and
 * `/timestamp_to_event/{roomId}` (events.yaml). Parsing only: access (server ACL, host in room),
 * bounds and answers are domain/app/federation's.
 */
import { Router } from '@koa/router';
import type { FederationRoomReads } from '../../domain/app/federation/index.ts';
import type { RequestState, StrataMiddleware } from '../http/index.ts';
import { originOf, signedContent } from './auth.ts';
import { pathParam, queryParam, requiredQueryParam } from './params.ts';

export interface FederationRoomReadRoutesOptions {
  readonly reads: Omit<FederationRoomReads, 'hierarchy'>;
  /** federationAuth: every route here needs a signed request. */
  readonly auth: StrataMiddleware;
}

const PREFIX = '/_matrix/federation/v1';

/** Every value of a repeatable query parameter (`v` of /backfill), in order. */
const queryParams = (query: Record<string, string | string[] | undefined>, name: string): string[] => {
  const value = query[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
};

export const createFederationRoomReadRouter = (options: FederationRoomReadRoutesOptions): Router<RequestState> => {
  const { reads, auth } = options;
  const router = new Router<RequestState>();
  router.get(`${PREFIX}/event/:eventId`, auth, async (ctx) => {
    ctx.body = await reads.getEvent(originOf(ctx), pathParam(ctx, 'eventId'));
  });
  router.get(`${PREFIX}/state/:roomId`, auth, async (ctx) => {
    ctx.body = await reads.getState(originOf(ctx), pathParam(ctx, 'roomId'), requiredQueryParam(ctx, 'event_id'));
  });
  router.get(`${PREFIX}/state_ids/:roomId`, auth, async (ctx) => {
    ctx.body = await reads.getStateIds(originOf(ctx), pathParam(ctx, 'roomId'), requiredQueryParam(ctx, 'event_id'));
  });
  router.get(`${PREFIX}/event_auth/:roomId/:eventId`, auth, async (ctx) => {
    ctx.body = await reads.getEventAuth(originOf(ctx), pathParam(ctx, 'roomId'), pathParam(ctx, 'eventId'));
  });
  router.get(`${PREFIX}/backfill/:roomId`, auth, async (ctx) => {
    ctx.body = await reads.backfill(originOf(ctx), pathParam(ctx, 'roomId'), queryParams(ctx.query, 'v'), queryParam(ctx, 'limit'));
  });
  router.post(`${PREFIX}/get_missing_events/:roomId`, auth, async (ctx) => {
    ctx.body = await reads.getMissingEvents(originOf(ctx), pathParam(ctx, 'roomId'), signedContent(ctx));
  });
  router.get(`${PREFIX}/timestamp_to_event/:roomId`, auth, async (ctx) => {
    ctx.body = await reads.timestampToEvent(originOf(ctx), pathParam(ctx, 'roomId'), requiredQueryParam(ctx, 'ts'), requiredQueryParam(ctx, 'dir'));
  });
  return router;
};
