/**
 * `GET /initialSync` (old_sync.yaml, deprecated since r0 for /sync without `since`): every room the
 * user is in as `/rooms/{roomId}/initialSync` answers it, with the account-wide parts taken from an
 * initial /sync that lists no rooms: `end` is its `next_batch` (a /sync `since`; this server has no
 * account-wide /events stream), `presence` and `account_data` its events.
 */
import type { InitialSyncRequest, Rooms } from '../../../domain/app/rooms/index.ts';
import type { SyncService } from '../../../domain/app/sync/index.ts';
import type { StrataContext, StrataMiddleware, StrataRouter } from '../../http/index.ts';
import { clientPaths, requesterOf } from '../accounts/index.ts';

/** No rooms (they come from the rooms use-case), and `offline` leaves the user's presence alone. */
const ACCOUNT_ONLY = { filter: JSON.stringify({ room: { rooms: [] } }), setPresence: 'offline', timeoutMs: 0 } as const;

const lastQuery = (ctx: StrataContext, name: string): string | undefined => {
  const value = ctx.query[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
};

const eventsOf = (section: unknown): unknown[] => {
  const events = (section as { events?: unknown } | undefined)?.events;
  return Array.isArray(events) ? events : [];
};

export const addInitialSyncRoute = (
  router: StrataRouter, sync: SyncService, rooms: Pick<Rooms, 'initialSyncRooms'>, auth: StrataMiddleware,
): void => {
  for (const path of clientPaths('/initialSync')) {
    router.get(path, auth, async (ctx) => {
      const requester = requesterOf(ctx);
      const limit = lastQuery(ctx, 'limit');
      const archived = lastQuery(ctx, 'archived');
      const request: InitialSyncRequest = { ...(limit === undefined ? {} : { limit }), ...(archived === undefined ? {} : { archived }) };
      // The token first, as Synapse takes it: an event between the two reads is then seen twice, never missed.
      const account = await sync.sync({ userId: requester.userId, deviceId: requester.deviceId }, ACCOUNT_ONLY);
      const roomsFound = await rooms.initialSyncRooms({ userId: requester.userId, deviceId: requester.deviceId }, request);
      ctx.body = {
        end: account.next_batch,
        rooms: roomsFound,
        presence: eventsOf(account.presence),
        account_data: eventsOf(account.account_data),
      };
    });
  }
};
