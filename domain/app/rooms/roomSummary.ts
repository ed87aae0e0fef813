/**
 * GET /room_summary/{roomIdOrAlias} (room_summary.yaml, since v1.15). As Synapse, a room is shown
 * to a user who is joined, invited or knocking, to anyone when its join rule is public, knock or
 * knock_restricted or its history is world_readable, and for a restricted room to members of one of
 * the allowed rooms; any other room is "not found", so its existence does not leak.
 */
import { isRoomAlias } from '../../ids/index.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import { notFound } from './common.ts';
import type { RoomRequester } from './context.ts';
import type { RoomModulesContext } from './modulesContext.ts';

const OPEN_JOIN_RULES = new Set(['public', 'knock', 'knock_restricted']);
const RESTRICTED_JOIN_RULES = new Set(['restricted', 'knock_restricted']);

const contentOf = (state: readonly StoredEvent[], type: string): JsonObject => {
  const content = state.find((event) => event.type === type && event.stateKey === '')?.pdu.content;
  return isJsonObject(content) ? content : {};
};

/** Room ids of a restricted join rule's `m.room_membership` conditions. */
const allowedRoomIds = (joinRules: JsonObject): string[] =>
  (Array.isArray(joinRules.allow) ? joinRules.allow : [])
    .filter((entry) => isJsonObject(entry) && entry.type === 'm.room_membership' && typeof entry.room_id === 'string')
    .map((entry) => (entry as JsonObject).room_id as string);

const resolveRoom = async (ctx: RoomModulesContext, roomIdOrAlias: string): Promise<string> => {
  if (!roomIdOrAlias.startsWith('#')) return roomIdOrAlias;
  if (!isRoomAlias(roomIdOrAlias)) throw notFound('Room not found');
  const found = await ctx.directory.resolveAlias(roomIdOrAlias);
  if (found === undefined) throw notFound('Room not found');
  return found.roomId;
};

/** `requester` is undefined for an unauthenticated request ("Servers MAY allow unauthenticated access"). */
export const getRoomSummary = async (ctx: RoomModulesContext, requester: RoomRequester | undefined, roomIdOrAlias: string): Promise<JsonObject> => {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const info = await ctx.rooms.roomInfo(roomId);
  if (info === undefined) throw notFound('Room not found');
  const [state, history] = await Promise.all([
    ctx.rooms.currentState(roomId), requester === undefined ? [] : ctx.rooms.membershipHistory(roomId, requester.userId),
  ]);
  const membership = history[history.length - 1]?.membership ?? 'leave';
  const joinRules = contentOf(state, 'm.room.join_rules');
  const joinRule = typeof joinRules.join_rule === 'string' ? joinRules.join_rule : 'invite';
  const worldReadable = contentOf(state, 'm.room.history_visibility').history_visibility === 'world_readable';
  const allowed = RESTRICTED_JOIN_RULES.has(joinRule) ? allowedRoomIds(joinRules) : [];
  let visible = ['join', 'invite', 'knock'].includes(membership) || OPEN_JOIN_RULES.has(joinRule) || worldReadable;
  if (!visible && allowed.length > 0 && requester !== undefined) {
    const joined = new Set(await ctx.rooms.roomsWithMembership(requester.userId, ['join']));
    visible = allowed.some((id) => joined.has(id));
  }
  if (!visible) throw notFound('Room not found');

  const joinedMembers = state.filter((event) => event.type === 'm.room.member' && isJsonObject(event.pdu.content)
    && event.pdu.content.membership === 'join').length;
  const summary: JsonObject = {
    room_id: roomId,
    num_joined_members: joinedMembers,
    world_readable: worldReadable,
    guest_can_join: contentOf(state, 'm.room.guest_access').guest_access === 'can_join',
    join_rule: joinRule,
    room_version: info.roomVersion,
  };
  // "Absent if the API was called unauthenticated"; Synapse answers `leave` for no membership.
  if (requester !== undefined) summary.membership = membership;
  const name = contentOf(state, 'm.room.name').name;
  if (typeof name === 'string' && name !== '') summary.name = name;
  const topic = contentOf(state, 'm.room.topic').topic;
  if (typeof topic === 'string' && topic !== '') summary.topic = topic;
  const avatar = contentOf(state, 'm.room.avatar').url;
  if (typeof avatar === 'string' && avatar !== '') summary.avatar_url = avatar;
  const alias = contentOf(state, 'm.room.canonical_alias').alias;
  if (typeof alias === 'string' && alias !== '') summary.canonical_alias = alias;
  if (info.roomType !== null) summary.room_type = info.roomType;
  const algorithm = contentOf(state, 'm.room.encryption').algorithm;
  if (typeof algorithm === 'string') summary.encryption = algorithm;
  if (allowed.length > 0) summary.allowed_room_ids = allowed;
  return summary;
};
