/**
 * The deprecated `GET /initialSync` (old_sync.yaml) and `GET /rooms/{roomId}/initialSync`
 * (room_initial_sync.yaml) as Synapse answers them: the rooms as the rooms use-case reads them
 * (rooms/legacySync.ts, rooms/peeking.ts: a left room frozen at the leave), with what the per-user
 * streams add — account data (global, and per room with `m.tag`), presence and receipts.
 *
 * `end` is a /sync token (eventStream.ts and /sync continue from it), its positions read before
 * the rooms so an event between the two reads is seen twice, never missed. To-device messages are
 * not part of these answers: the token's to-device position stays at 0, so the first /sync from it
 * delivers them rather than acknowledging them unseen.
 */
import type { JsonObject } from '../../json.ts';
import type { AccountDataEntry } from '../../ports/userData.ts';
import type { InitialSyncRequest, RoomRequester, Rooms } from '../rooms/index.ts';
import type { SyncContext, SyncRequester } from './context.ts';
import { joinedMembers, presenceOf } from './memberPresence.ts';
import { encodeSyncToken, type SyncPositions } from './token.ts';

export interface LegacySync {
  initialSync(requester: SyncRequester, request: InitialSyncRequest): Promise<JsonObject>;
  roomInitialSync(requester: RoomRequester, roomId: string): Promise<JsonObject>;
}

export type LegacySyncRooms = Pick<Rooms, 'initialSyncRooms' | 'roomInitialSync'>;

const positionsNow = async (ctx: SyncContext): Promise<SyncPositions> => {
  const { rooms, streams } = await ctx.sync.positions();
  return { rooms, ...streams, typing: ctx.userData.streams.typing.currentPosition(), toDevice: 0 };
};

/** Account data events of a room (RoomInfo `account_data`); tags are its `m.tag` entry. */
const roomAccountData = (entries: readonly AccountDataEntry[], roomId: string): JsonObject[] =>
  entries.filter((entry) => entry.roomId === roomId).map((entry) => ({ type: entry.type, content: entry.content }));

/** Synapse's presence events here and in /events carry the user in their content too. */
const withUserId = (event: JsonObject): JsonObject => ({ ...event, content: { ...(event.content as JsonObject), user_id: String(event.sender) } });

const receiptEvents = (receipts: ReadonlyMap<string, JsonObject>): JsonObject[] =>
  [...receipts].map(([roomId, content]) => ({ type: 'm.receipt', room_id: roomId, content }));

const initialSync = async (ctx: SyncContext, rooms: LegacySyncRooms, requester: SyncRequester, request: InitialSyncRequest): Promise<JsonObject> => {
  const { userId } = requester;
  const upTo = await positionsNow(ctx);
  const [found, accountData, presence] = await Promise.all([
    rooms.initialSyncRooms(requester, request),
    ctx.userData.streams.accountData.changesSince(userId, 0, upTo.accountData),
    ctx.userData.streams.presence.changesSince(userId, 0, upTo.presence),
  ]);
  const joined = found.filter((room) => room.membership === 'join').map((room) => String(room.room_id));
  const receipts = await ctx.userData.streams.receipts.changesSince(userId, joined, 0, upTo.receipts);
  return {
    end: encodeSyncToken(upTo),
    // Rooms the user is in (or left, with `archived`) carry their account data; invites do not.
    rooms: found.map((room) => (room.membership === 'join' || room.membership === 'leave'
      ? { ...room, account_data: roomAccountData(accountData, String(room.room_id)) } : room)),
    // As Synapse's snapshot: who is not offline.
    presence: presence.filter((event) => (event.content as JsonObject).presence !== 'offline').map(withUserId),
    account_data: accountData.filter((entry) => entry.roomId === null).map((entry) => ({ type: entry.type, content: entry.content })),
    receipts: receiptEvents(receipts),
  };
};

const roomInitialSync = async (ctx: SyncContext, rooms: LegacySyncRooms, requester: RoomRequester, roomId: string): Promise<JsonObject> => {
  const { userId } = requester;
  const upTo = await positionsNow(ctx);
  const room = await rooms.roomInitialSync(requester, roomId);
  const accountData = await ctx.userData.streams.accountData.changesSince(userId, 0, upTo.accountData);
  // A member gets the presence of everyone joined and the room's receipts; a peeker (no `membership`,
  // Synapse's is_peeking) the receipts, presence being only for users sharing a room; who left
  // gets neither (Synapse's _room_initial_sync_parted).
  const joined = room.membership === 'join';
  const [presence, receipts] = await Promise.all([
    joined ? joinedMembers(ctx, roomId).then((members) => presenceOf(ctx, userId, new Set(members), upTo.presence)) : [],
    joined || room.membership === undefined
      ? ctx.userData.streams.receipts.changesSince(userId, [roomId], 0, upTo.receipts) : new Map<string, JsonObject>(),
  ]);
  return {
    ...room,
    presence: presence.map(withUserId),
    receipts: receiptEvents(receipts),
    account_data: roomAccountData(accountData, roomId),
  };
};

export const createLegacySync = (ctx: SyncContext, rooms: LegacySyncRooms): LegacySync => ({
  initialSync: (requester, request) => initialSync(ctx, rooms, requester, request),
  roomInitialSync: (requester, roomId) => roomInitialSync(ctx, rooms, requester, roomId),
});
