/** Sending and reading events: send, state, redact, event, members, messages, context. */
import { MatrixError } from '../../../domain/index.ts';
import type { Rooms } from '../../../domain/app/rooms/index.ts';
import type { StrataContext, StrataMiddleware, StrataRouter } from '../../http/index.ts';
import { allowGuests, clientPaths } from '../accounts/index.ts';
import { body, MAX_EVENT_BODY_BYTES, optionalReason, param, queryString, roomRequester } from './common.ts';

const stateKeyOf = (ctx: StrataContext): string => (ctx.params as Record<string, string | undefined>).stateKey ?? '';

const formatOf = (ctx: StrataContext): 'content' | 'event' => {
  const format = queryString(ctx, 'format') ?? 'content';
  if (format !== 'content' && format !== 'event') throw new MatrixError('M_INVALID_PARAM', 400, "'format' must be content or event");
  return format;
};

export const addEventRoutes = (router: StrataRouter, rooms: Rooms, auth: StrataMiddleware, limit: StrataMiddleware): void => {
  for (const path of clientPaths('/rooms/:roomId/send/:eventType/:txnId')) {
    router.put(path, allowGuests, auth, limit, async (ctx) => {
      const content = await body(ctx, MAX_EVENT_BODY_BYTES);
      ctx.body = {
        event_id: await rooms.sendMessage(roomRequester(ctx), param(ctx, 'roomId'), param(ctx, 'eventType'), param(ctx, 'txnId'), content, queryString(ctx, 'ts')),
      };
    });
  }
  // Not in the spec, but Synapse serves it (RoomSendEventRestServlet) and older clients call it:
  // without a transaction id every POST is a new event.
  for (const path of clientPaths('/rooms/:roomId/send/:eventType')) {
    router.post(path, allowGuests, auth, limit, async (ctx) => {
      const content = await body(ctx, MAX_EVENT_BODY_BYTES);
      ctx.body = { event_id: await rooms.sendMessage(roomRequester(ctx), param(ctx, 'roomId'), param(ctx, 'eventType'), null, content, queryString(ctx, 'ts')) };
    });
  }
  for (const path of clientPaths('/rooms/:roomId/state')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      ctx.body = await rooms.getState(roomRequester(ctx), param(ctx, 'roomId'));
    });
  }
  for (const path of [...clientPaths('/rooms/:roomId/state/:eventType'), ...clientPaths('/rooms/:roomId/state/:eventType/:stateKey')]) {
    router.get(path, allowGuests, auth, async (ctx) => {
      ctx.body = await rooms.getStateEvent(roomRequester(ctx), param(ctx, 'roomId'), param(ctx, 'eventType'), stateKeyOf(ctx), formatOf(ctx));
    });
    router.put(path, allowGuests, auth, limit, async (ctx) => {
      const content = await body(ctx, MAX_EVENT_BODY_BYTES);
      ctx.body = { event_id: await rooms.putState(roomRequester(ctx), param(ctx, 'roomId'), param(ctx, 'eventType'), stateKeyOf(ctx), content, queryString(ctx, 'ts')) };
    });
  }
  for (const path of clientPaths('/rooms/:roomId/redact/:eventId/:txnId')) {
    router.put(path, auth, limit, async (ctx) => {
      const request = await body(ctx, undefined, true);
      ctx.body = { event_id: await rooms.redact(roomRequester(ctx), param(ctx, 'roomId'), param(ctx, 'eventId'), param(ctx, 'txnId'), optionalReason(request)) };
    });
  }
  for (const path of clientPaths('/rooms/:roomId/event/:eventId')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      ctx.body = await rooms.getEvent(roomRequester(ctx), param(ctx, 'roomId'), param(ctx, 'eventId'));
    });
  }
  for (const path of clientPaths('/rooms/:roomId/members')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      const at = queryString(ctx, 'at');
      const membership = queryString(ctx, 'membership');
      const notMembership = queryString(ctx, 'not_membership');
      ctx.body = {
        chunk: await rooms.getMembers(roomRequester(ctx), param(ctx, 'roomId'), {
          ...(at === undefined ? {} : { at }),
          ...(membership === undefined ? {} : { membership }),
          ...(notMembership === undefined ? {} : { notMembership }),
        }),
      };
    });
  }
  for (const path of clientPaths('/rooms/:roomId/joined_members')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = { joined: await rooms.getJoinedMembers(roomRequester(ctx), param(ctx, 'roomId')) };
    });
  }
  for (const path of clientPaths('/joined_rooms')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      ctx.body = { joined_rooms: await rooms.getJoinedRooms(roomRequester(ctx)) };
    });
  }
  for (const path of clientPaths('/rooms/:roomId/messages')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      const from = queryString(ctx, 'from');
      const to = queryString(ctx, 'to');
      const limit = queryString(ctx, 'limit');
      const filter = queryString(ctx, 'filter');
      const dir = queryString(ctx, 'dir');
      ctx.body = await rooms.getMessages(roomRequester(ctx), param(ctx, 'roomId'), {
        ...(dir === undefined ? {} : { dir }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(limit === undefined ? {} : { limit }),
        ...(filter === undefined ? {} : { filter }),
      });
    });
  }
  for (const path of clientPaths('/rooms/:roomId/context/:eventId')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      ctx.body = await rooms.getContext(roomRequester(ctx), param(ctx, 'roomId'), param(ctx, 'eventId'),
        queryString(ctx, 'limit'), queryString(ctx, 'filter'));
    });
  }
};
