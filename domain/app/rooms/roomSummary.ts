/**
 * GET /room_summary/{roomIdOrAlias} (room_summary.yaml, since v1.15). As Synapse, a room is shown
 * to a user who is joined, invited or knocking, to anyone when its join rule is public, knock or
 * knock_restricted or its history is world_readable, and for a restricted room to members of one of
 * the allowed rooms; any other room is "not found", so its existence does not leak.
 */
import { isRoomAlias } from '../../ids/index.ts';
import { resolveAliasAskingBridges } from '../appservices/index.ts';
import type { JsonObject } from '../../json.ts';
import { notFound } from './common.ts';
import type { RoomRequester } from './context.ts';
import type { RoomModulesContext } from './modulesContext.ts';
import { mayPreview, membershipIn, roomSummaryFields } from './spaceRoom.ts';

const resolveRoom = async (ctx: RoomModulesContext, roomIdOrAlias: string): Promise<string> => {
  if (!roomIdOrAlias.startsWith('#')) return roomIdOrAlias;
  if (!isRoomAlias(roomIdOrAlias)) throw notFound('Room not found');
  const found = await resolveAliasAskingBridges(ctx.directory, ctx.bridgeQueries, roomIdOrAlias);
  if (found === undefined) throw notFound('Room not found');
  return found.roomId;
};

/** `requester` is undefined for an unauthenticated request ("Servers MAY allow unauthenticated access"). */
export const getRoomSummary = async (ctx: RoomModulesContext, requester: RoomRequester | undefined, roomIdOrAlias: string): Promise<JsonObject> => {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const info = await ctx.rooms.roomInfo(roomId);
  if (info === undefined) throw notFound('Room not found');
  const room = { info, state: await ctx.rooms.currentState(roomId) };
  const membership = requester === undefined ? undefined : membershipIn(room.state, requester.userId);
  // The hierarchy's preview rule, plus knocking users (they asked to see the room).
  const joinedRooms = async () => new Set(requester === undefined ? [] : await ctx.rooms.roomsWithMembership(requester.userId, ['join']));
  const visible = membership === 'knock' || (await mayPreview(room, requester?.userId ?? '', joinedRooms));
  if (!visible) throw notFound('Room not found');
  const summary = roomSummaryFields(room);
  // "Absent if the API was called unauthenticated"; Synapse answers `leave` for no membership.
  if (requester !== undefined) summary.membership = membership ?? 'leave';
  return summary;
};
