/** The room use-cases bound to their dependencies: what the gateways call. */
import type { JsonObject } from '../../json.ts';
import type { ProfileFields } from '../../ports/accounts.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { createRoom, type CreateRoomResult } from './createRoom.ts';
import {
  deleteAlias, getAlias, getDirectoryVisibility, publicRooms, putAlias, roomAliases, setDirectoryVisibility, type PublicRoomsRequest,
} from './directory.ts';
import { ban, forget, invite, join, kick, knock, leave, unban } from './membership.ts';
import { syncProfileToRooms } from './profileSync.ts';
import {
  getContext, getEvent, getJoinedMembers, getJoinedRooms, getMembers, getMessages, getState, getStateEvent,
  type MembersQuery, type MessagesRequest,
} from './reading.ts';
import { putState, redact, sendMessage } from './sending.ts';
import { upgradeRoom } from './upgrade.ts';
import { getHierarchy, type HierarchyRequest } from './hierarchy.ts';
import { roomInitialSync } from './peeking.ts';
import { initialSyncRooms, roomOfEvent, type InitialSyncRequest } from './legacySync.ts';
import { sendRedaction } from './redactionSend.ts';

type R = RoomRequester;

export interface Rooms {
  createRoom(requester: R, body: JsonObject): Promise<CreateRoomResult>;
  /** `fields`: the request body's other keys, which Synapse copies into the join's content (membership.ts). */
  join(requester: R, roomIdOrAlias: string, reason?: string, via?: readonly string[], fields?: JsonObject): Promise<string>;
  knock(requester: R, roomIdOrAlias: string, reason?: string, via?: readonly string[]): Promise<string>;
  leave(requester: R, roomId: string, reason?: string): Promise<void>;
  forget(requester: R, roomId: string): Promise<void>;
  /** `thirdPartyInvite`: the content's `third_party_invite` when the invite completes one (thirdPartyInvites). */
  invite(requester: R, roomId: string, userId: string, reason?: string, thirdPartyInvite?: JsonObject): Promise<void>;
  kick(requester: R, roomId: string, userId: string, reason?: string): Promise<void>;
  ban(requester: R, roomId: string, userId: string, reason?: string): Promise<void>;
  unban(requester: R, roomId: string, userId: string, reason?: string): Promise<void>;
  /**
   * Without a transaction id (POST, as Synapse serves it) every call is a new event. `ts`: the
   * query parameter an application service massages the event's timestamp with (sending.ts).
   */
  sendMessage(requester: R, roomId: string, type: string, txnId: string | null, content: JsonObject, ts?: string): Promise<string>;
  putState(requester: R, roomId: string, type: string, stateKey: string, content: JsonObject, ts?: string): Promise<string>;
  redact(requester: R, roomId: string, eventId: string, txnId: string, reason?: string): Promise<string>;
  getEvent(requester: R, roomId: string, eventId: string): Promise<JsonObject>;
  getState(requester: R, roomId: string): Promise<JsonObject[]>;
  getStateEvent(requester: R, roomId: string, type: string, stateKey: string, format: 'content' | 'event'): Promise<JsonObject>;
  getMembers(requester: R, roomId: string, query: MembersQuery): Promise<JsonObject[]>;
  getJoinedMembers(requester: R, roomId: string): Promise<JsonObject>;
  getJoinedRooms(requester: R): Promise<string[]>;
  getMessages(requester: R, roomId: string, request: MessagesRequest): Promise<JsonObject>;
  getContext(requester: R, roomId: string, eventId: string, limit?: string, filter?: string): Promise<JsonObject>;
  putAlias(requester: R, alias: string, roomId: string): Promise<void>;
  getAlias(alias: string): Promise<JsonObject>;
  deleteAlias(requester: R, alias: string): Promise<void>;
  roomAliases(requester: R, roomId: string): Promise<string[]>;
  getDirectoryVisibility(roomId: string): Promise<JsonObject>;
  setDirectoryVisibility(requester: R, roomId: string, visibility: unknown): Promise<void>;
  publicRooms(options: PublicRoomsRequest): Promise<JsonObject>;
  upgradeRoom(requester: R, roomId: string, body: JsonObject): Promise<string>;
  /** GET /_matrix/client/v1/rooms/{roomId}/hierarchy (space_hierarchy.yaml). */
  getHierarchy(requester: R, roomId: string, request: HierarchyRequest): Promise<JsonObject>;
  /** GET /rooms/{roomId}/initialSync: peeking (room_initial_sync.yaml). */
  roomInitialSync(requester: R, roomId: string): Promise<JsonObject>;
  /** The `rooms` of the deprecated GET /initialSync (old_sync.yaml). */
  initialSyncRooms(requester: R, request: InitialSyncRequest): Promise<JsonObject[]>;
  /** The room of a known event, for the deprecated GET /events/{eventId} (then getEvent). */
  roomOfEvent(eventId: string): Promise<string | undefined>;
  /** The accounts' `onProfileChanged` hook. */
  onProfileChanged(userId: string, profile: ProfileFields): Promise<void>;
}

export const createRooms = (ctx: RoomsContext): Rooms => ({
  createRoom: (r, body) => createRoom(ctx, r, body),
  join: (r, room, reason, via, fields) => join(ctx, r, room, reason, via, fields),
  knock: (r, room, reason, via) => knock(ctx, r, room, reason, via),
  leave: (r, room, reason) => leave(ctx, r, room, reason),
  forget: (r, room) => forget(ctx, r, room),
  invite: (r, room, user, reason, thirdPartyInvite) => invite(ctx, r, room, user, reason, thirdPartyInvite),
  kick: (r, room, user, reason) => kick(ctx, r, room, user, reason),
  ban: (r, room, user, reason) => ban(ctx, r, room, user, reason),
  unban: (r, room, user, reason) => unban(ctx, r, room, user, reason),
  // Since v1.18 (MSC4169) redactions may also be sent through /send.
  sendMessage: (r, room, type, txnId, content, ts) => (type === 'm.room.redaction'
    ? sendRedaction(ctx, r, room, txnId, content, ts) : sendMessage(ctx, r, room, type, txnId, content, ts)),
  putState: (r, room, type, stateKey, content, ts) => putState(ctx, r, room, type, stateKey, content, ts),
  redact: (r, room, eventId, txnId, reason) => redact(ctx, r, room, eventId, txnId, reason),
  getEvent: (r, room, eventId) => getEvent(ctx, r, room, eventId),
  getState: (r, room) => getState(ctx, r, room),
  getStateEvent: (r, room, type, stateKey, format) => getStateEvent(ctx, r, room, type, stateKey, format),
  getMembers: (r, room, query) => getMembers(ctx, r, room, query),
  getJoinedMembers: (r, room) => getJoinedMembers(ctx, r, room),
  getJoinedRooms: (r) => getJoinedRooms(ctx, r),
  getMessages: (r, room, request) => getMessages(ctx, r, room, request),
  getContext: (r, room, eventId, limit, filter) => getContext(ctx, r, room, eventId, limit, filter),
  putAlias: (r, alias, room) => putAlias(ctx, r, alias, room),
  getAlias: (alias) => getAlias(ctx, alias),
  deleteAlias: (r, alias) => deleteAlias(ctx, r, alias),
  roomAliases: (r, room) => roomAliases(ctx, r, room),
  getDirectoryVisibility: (room) => getDirectoryVisibility(ctx, room),
  setDirectoryVisibility: (r, room, visibility) => setDirectoryVisibility(ctx, r, room, visibility),
  publicRooms: (options) => publicRooms(ctx, options),
  upgradeRoom: (r, room, body) => upgradeRoom(ctx, r, room, body),
  getHierarchy: (r, room, request) => getHierarchy(ctx, r, room, request),
  roomInitialSync: (r, room) => roomInitialSync(ctx, r, room),
  initialSyncRooms: (r, request) => initialSyncRooms(ctx, r, request),
  roomOfEvent: (eventId) => roomOfEvent(ctx, eventId),
  onProfileChanged: (userId, profile) => syncProfileToRooms(ctx, userId, profile),
});
