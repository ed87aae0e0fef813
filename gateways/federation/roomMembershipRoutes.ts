/**
 * Room membership through federation (server-server-api § Joining Rooms, § Leaving Rooms,
 * § Knocking, § Inviting to a room): `make_join`, `send_join` (v1 and v2), `make_leave`,
 * `send_leave` (v1 and v2), `make_knock`, `send_knock`, `invite` (v1 and v2). Parsing only; the
 * answers are domain/app/federation/rooms'.
 */
import { Router } from '@koa/router';
import type { FederationRooms } from '../../domain/app/federation/index.ts';
import type { JsonObject } from '../../domain/index.ts';
import type { RequestState, StrataMiddleware } from '../http/index.ts';
import { originOf, signedContent } from './auth.ts';
import { pathParam } from './params.ts';

export interface FederationRoomMembershipRoutesOptions {
  readonly rooms: FederationRooms;
  readonly auth: StrataMiddleware;
}

/** `ver` may repeat: every room version the asking server supports. */
const versionsOf = (value: string | string[] | undefined): string[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]).slice(0, 50);

export const createFederationRoomMembershipRouter = (options: FederationRoomMembershipRoutesOptions): Router<RequestState> => {
  const { rooms, auth } = options;
  const router = new Router<RequestState>();
  router.get('/_matrix/federation/v1/make_join/:roomId/:userId', auth, async (ctx) => {
    ctx.body = await rooms.makeMembership(originOf(ctx), pathParam(ctx, 'roomId'), pathParam(ctx, 'userId'), 'join', versionsOf(ctx.query.ver));
  });
  router.get('/_matrix/federation/v1/make_leave/:roomId/:userId', auth, async (ctx) => {
    ctx.body = await rooms.makeMembership(originOf(ctx), pathParam(ctx, 'roomId'), pathParam(ctx, 'userId'), 'leave');
  });
  router.get('/_matrix/federation/v1/make_knock/:roomId/:userId', auth, async (ctx) => {
    ctx.body = await rooms.makeMembership(originOf(ctx), pathParam(ctx, 'roomId'), pathParam(ctx, 'userId'), 'knock', versionsOf(ctx.query.ver));
  });
  const send = (kind: 'sendJoin' | 'sendLeave' | 'sendKnock') => (ctx: Parameters<Parameters<typeof router.put>[2]>[0]) =>
    rooms[kind](originOf(ctx), pathParam(ctx, 'roomId'), pathParam(ctx, 'eventId'), signedContent(ctx));
  router.put('/_matrix/federation/v2/send_join/:roomId/:eventId', auth, async (ctx) => {
    ctx.body = await send('sendJoin')(ctx);
  });
  // v1 answers `[200, body]` (deprecated, still used by older servers).
  router.put('/_matrix/federation/v1/send_join/:roomId/:eventId', auth, async (ctx) => {
    ctx.body = [200, await send('sendJoin')(ctx)];
  });
  router.put('/_matrix/federation/v2/send_leave/:roomId/:eventId', auth, async (ctx) => {
    ctx.body = await send('sendLeave')(ctx);
  });
  router.put('/_matrix/federation/v1/send_leave/:roomId/:eventId', auth, async (ctx) => {
    ctx.body = [200, await send('sendLeave')(ctx)];
  });
  router.put('/_matrix/federation/v1/send_knock/:roomId/:eventId', auth, async (ctx) => {
    ctx.body = await send('sendKnock')(ctx);
  });
  router.put('/_matrix/federation/v2/invite/:roomId/:eventId', auth, async (ctx) => {
    ctx.body = await rooms.receiveInvite(originOf(ctx), pathParam(ctx, 'roomId'), pathParam(ctx, 'eventId'), signedContent(ctx));
  });
  // v1: the body is the event itself, the room version "1" or "2" implied by the event id format.
  router.put('/_matrix/federation/v1/invite/:roomId/:eventId', auth, async (ctx) => {
    const event: JsonObject = signedContent(ctx);
    const answer = await rooms.receiveInvite(originOf(ctx), pathParam(ctx, 'roomId'), pathParam(ctx, 'eventId'), { room_version: '1', event, invite_room_state: [] });
    ctx.body = [200, answer];
  });
  return router;
};
