/**
 * Spaces and room previews: GET /v1/rooms/{roomId}/hierarchy (space_hierarchy.yaml),
 * /rooms/{roomId}/initialSync (room_initial_sync.yaml), GET /events?room_id= (peeking_events.yaml),
 * and the deprecated GET /events without room_id (the global event stream) and
 * GET /events/{eventId} (old_sync.yaml).
 */
import type { RoomPeeking, Rooms } from '../../../domain/app/rooms/index.ts';
import type { EventStream, LegacySync } from '../../../domain/app/sync/index.ts';
import type { StrataContext, StrataMiddleware, StrataRouter } from '../../http/index.ts';
import { allowGuests, clientPaths, requesterOf } from '../accounts/index.ts';
import { MatrixError } from '../../../domain/index.ts';
import { param, queryString, roomRequester } from './common.ts';

const definedQuery = <K extends string>(ctx: StrataContext, names: Record<K, string>): { [P in K]?: string } =>
  Object.fromEntries(Object.entries<string>(names)
    .map(([key, name]) => [key, queryString(ctx, name)])
    .filter(([, value]) => value !== undefined)) as { [P in K]?: string };

export interface EventReads {
  readonly peeking?: RoomPeeking;
  readonly eventStream?: EventStream;
  /** /rooms/{roomId}/initialSync with presence, receipts and account data; absent: the rooms use-case's alone. */
  readonly legacySync?: LegacySync;
}

export const addSpaceRoutes = (router: StrataRouter, rooms: Rooms, auth: StrataMiddleware, reads: EventReads = {}): void => {
  router.get('/_matrix/client/v1/rooms/:roomId/hierarchy', allowGuests, auth, async (ctx) => {
    ctx.body = await rooms.getHierarchy(roomRequester(ctx), param(ctx, 'roomId'),
      definedQuery(ctx, { from: 'from', limit: 'limit', maxDepth: 'max_depth', suggestedOnly: 'suggested_only' }));
  });
  for (const path of clientPaths('/rooms/:roomId/initialSync')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      ctx.body = await (reads.legacySync ?? rooms).roomInitialSync(roomRequester(ctx), param(ctx, 'roomId'));
    });
  }
  for (const path of clientPaths('/events/:eventId')) {
    // Deprecated since r0 for /rooms/{roomId}/event/{eventId}, which answers once the room is known:
    // 404 for an unknown event as for one the user may not see.
    router.get(path, auth, async (ctx) => {
      const eventId = param(ctx, 'eventId');
      const roomId = await rooms.roomOfEvent(eventId);
      if (roomId === undefined) throw new MatrixError('M_NOT_FOUND', 404, 'Event not found');
      ctx.body = await rooms.getEvent(roomRequester(ctx), roomId, eventId);
    });
  }
  const { peeking, eventStream } = reads;
  if (peeking === undefined && eventStream === undefined) return;
  for (const path of clientPaths('/events')) {
    router.get(path, allowGuests, auth, async (ctx) => {
      const aborted = new AbortController();
      // The response closes before it is written only when the client went away.
      const onClose = (): void => aborted.abort();
      ctx.res.once('close', onClose);
      try {
        const query = definedQuery(ctx, { roomId: 'room_id', from: 'from', timeout: 'timeout' });
        // As Synapse: a guest's event stream is always one room's (peeking_events.yaml).
        if (query.roomId === undefined && requesterOf(ctx).isGuest) throw new MatrixError('M_MISSING_PARAM', 400, 'Guest users must specify room_id param');
        // With room_id a room's events (peeking); without, every room of the user's (Synapse serves both here).
        if (query.roomId === undefined && eventStream !== undefined) {
          ctx.body = await eventStream.events(roomRequester(ctx), query, aborted.signal);
        } else if (peeking !== undefined) {
          ctx.body = await peeking.peekEvents(roomRequester(ctx), query, aborted.signal);
        } else {
          throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'room_id'");
        }
      } finally {
        ctx.res.off('close', onClose);
      }
    });
  }
};
