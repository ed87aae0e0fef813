/**
 * The deprecated whole-account reads of old_sync.yaml (deprecated since r0, still in the spec):
 * the rooms of `GET /initialSync` and the room of an event for `GET /events/{eventId}`. Each room
 * is answered by the code of `GET /rooms/{roomId}/initialSync` (peeking.ts), an event by that of
 * `GET /rooms/{roomId}/event/{eventId}`; the account-wide parts (`end`, presence, receipts,
 * account data) are added by sync/initialSync.ts.
 */
import type { JsonObject } from '../../json.ts';
import { invalidParam } from './common.ts';
import { clientEvent } from './clientEvent.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { roomInitialSync } from './peeking.ts';
import { limitOf } from './reading.ts';

export interface InitialSyncRequest {
  /** Messages per room; Synapse's default is 10. */
  readonly limit?: string;
  /** `true`: rooms the user left too. */
  readonly archived?: string;
}

const DEFAULT_LIMIT = 10;

const archivedOf = (text: string | undefined): boolean => {
  if (text === undefined) return false;
  if (text !== 'true' && text !== 'false') throw invalidParam("'archived' must be true or false");
  return text === 'true';
};

/** An invited room: no state or messages, the invite event itself (RoomInfo `invite`) and its sender. */
const invitedRoom = async (ctx: RoomsContext, requester: RoomRequester, roomId: string): Promise<JsonObject> => {
  const [history, visibility] = await Promise.all([ctx.rooms.membershipHistory(roomId, requester.userId), ctx.directory.visibility(roomId)]);
  const latest = history.at(-1);
  const invite = latest === undefined ? undefined : await ctx.rooms.event(latest.eventId);
  return {
    room_id: roomId,
    membership: 'invite',
    visibility,
    ...(invite === undefined ? {} : {
      inviter: invite.sender,
      invite: clientEvent(invite, { userId: requester.userId, deviceId: requester.deviceId }, ctx.clock.now()),
    }),
  };
};

/**
 * `GET /initialSync` rooms: those the user is invited to or joined, and with `archived` those they
 * left (as Synapse: not those they were banned from), each as `/rooms/{roomId}/initialSync` sees it.
 */
export const initialSyncRooms = async (ctx: RoomsContext, requester: RoomRequester, request: InitialSyncRequest): Promise<JsonObject[]> => {
  const limit = limitOf(request.limit, DEFAULT_LIMIT);
  const archived = archivedOf(request.archived);
  const [invited, entered] = await Promise.all([
    ctx.rooms.roomsWithMembership(requester.userId, ['invite']),
    ctx.rooms.roomsWithMembership(requester.userId, archived ? ['join', 'leave'] : ['join']),
  ]);
  return Promise.all([
    ...invited.map((roomId) => invitedRoom(ctx, requester, roomId)),
    ...entered.map((roomId) => roomInitialSync(ctx, requester, roomId, limit)),
  ]);
};

/** The room of an event this server has, for `GET /events/{eventId}`; whether the user may see it is getEvent's. */
export const roomOfEvent = async (ctx: RoomsContext, eventId: string): Promise<string | undefined> =>
  (await ctx.rooms.event(eventId))?.roomId;
