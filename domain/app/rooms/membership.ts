/**
 * Membership changes (client-server-api § Room membership: joining.yaml, leaving.yaml,
 * inviting.yaml, kicking.yaml, banning.yaml, knocking.yaml). The auth rules decide who may; these
 * use-cases build the m.room.member event and resolve aliases.
 */
import { MatrixError } from '../../errors.ts';
import { isRoomAlias, isUserId, parseRoomId, roomAliasServerName, roomIdServerName, type RoomAlias } from '../../ids/index.ts';
import type { JsonObject } from '../../json.ts';
import { invalidParam, memberContent, membershipIn, notFound, notInRoom, originOf, withReason } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { restrictedJoinContent } from './restrictedJoin.ts';

const FEDERATION_UNSUPPORTED = 'federation not supported yet';

/** A room id, or a local alias resolved to one. Remote aliases and rooms need federation. */
export const resolveRoom = async (ctx: RoomsContext, roomIdOrAlias: string): Promise<string> => {
  if (isRoomAlias(roomIdOrAlias)) {
    const found = await ctx.directory.resolveAlias(roomIdOrAlias);
    if (found !== undefined) return found.roomId;
    if (roomAliasServerName(roomIdOrAlias as RoomAlias) !== ctx.serverName) throw notFound(`Room alias ${roomIdOrAlias} is on another server: ${FEDERATION_UNSUPPORTED}`);
    throw notFound(`Room alias ${roomIdOrAlias} not found`);
  }
  const parsed = parseRoomId(roomIdOrAlias);
  if (!parsed.ok) throw invalidParam(`${roomIdOrAlias} is neither a room id nor a room alias`);
  return parsed.value;
};

/** 404 for rooms this server has never seen (no federation to join through yet). */
const knownRoom = async (ctx: RoomsContext, roomId: string) => {
  const state = await ctx.writer.state(roomId);
  if (state === undefined) {
    const parsed = parseRoomId(roomId);
    const server = parsed.ok ? roomIdServerName(parsed.value) : undefined;
    throw notFound(server !== undefined && server !== ctx.serverName
      ? `Room ${roomId} is on another server: ${FEDERATION_UNSUPPORTED}`
      : `Unknown room ${roomId} (joining over federation is not supported yet)`);
  }
  return state;
};

/**
 * The room's state for a change only a joined member may make (invite, kick, ban, unban: the auth
 * rules reject any other sender). Unknown rooms and rooms the requester is not joined to get the
 * same answer, before anything about the room or its members is looked at.
 */
const stateAsMember = async (ctx: RoomsContext, requester: RoomRequester, roomId: string) => {
  const state = await ctx.writer.state(roomId);
  if (state === undefined || state.rules === null || membershipIn(state, requester.userId) !== 'join') throw notInRoom(requester.userId, roomId);
  return state;
};

/** `ifMembershipIn`: what the target must hold when the decider decides (commands.ts). */
const sendMember = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, target: string, content: JsonObject, ifMembershipIn?: readonly string[],
): Promise<string> =>
  (await ctx.writer.send(roomId, {
    type: 'm.room.member', stateKey: target, sender: requester.userId, content, ...(ifMembershipIn === undefined ? {} : { ifMembershipIn }),
  }, originOf(requester))).eventId;

export const join = async (ctx: RoomsContext, requester: RoomRequester, roomIdOrAlias: string, reason?: string): Promise<string> => {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  const state = await knownRoom(ctx, roomId);
  // Since v8: a join to a restricted room names a local member who may invite (restrictedJoin.ts).
  const authorised = state.rules === null ? {} : await restrictedJoinContent(ctx, roomId, { ...state, rules: state.rules }, requester.userId);
  await sendMember(ctx, requester, roomId, requester.userId, await memberContent(ctx, requester.userId, 'join', { ...withReason(reason), ...authorised }));
  await ctx.directory.setForgotten(requester.userId, roomId, false);
  return roomId;
};

export const knock = async (ctx: RoomsContext, requester: RoomRequester, roomIdOrAlias: string, reason?: string): Promise<string> => {
  const roomId = await resolveRoom(ctx, roomIdOrAlias);
  await knownRoom(ctx, roomId);
  await sendMember(ctx, requester, roomId, requester.userId, await memberContent(ctx, requester.userId, 'knock', withReason(reason)));
  return roomId;
};

export const leave = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, reason?: string): Promise<void> => {
  const state = await ctx.writer.state(roomId);
  const membership = state === undefined ? undefined : membershipIn(state, requester.userId);
  // Never in the room, or no such room: one answer, so leave does not tell whether a room exists.
  if (membership === undefined) throw notInRoom(requester.userId, roomId);
  // Leaving a room one already left changes nothing.
  if (membership === 'leave') return;
  await sendMember(ctx, requester, roomId, requester.userId, { membership: 'leave', ...withReason(reason) });
};

export const forget = async (ctx: RoomsContext, requester: RoomRequester, roomId: string): Promise<void> => {
  const state = await ctx.writer.state(roomId);
  const membership = state === undefined ? undefined : membershipIn(state, requester.userId);
  // Synapse: "has no membership in room"; an unknown room answers the same.
  if (membership === undefined) throw notInRoom(requester.userId, roomId);
  if (membership === 'join' || membership === 'invite' || membership === 'knock') {
    throw new MatrixError('M_UNKNOWN', 400, 'The user has not left the room');
  }
  await ctx.directory.setForgotten(requester.userId, roomId, true);
};

const targetOf = (userId: string): string => {
  if (!isUserId(userId)) throw invalidParam(`Invalid user id ${userId}`);
  return userId;
};

// Whom a member may invite, kick, ban or unban is the auth rules' judgement (rule 5), run by the
// decider on the state it decides on; these use-cases only say which change the endpoint means.
export const invite = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, userId: string, reason?: string): Promise<void> => {
  const target = targetOf(userId);
  await stateAsMember(ctx, requester, roomId);
  await sendMember(ctx, requester, roomId, target, await memberContent(ctx, target, 'invite', withReason(reason)));
};

export const kick = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, userId: string, reason?: string): Promise<void> => {
  const target = targetOf(userId);
  await stateAsMember(ctx, requester, roomId);
  // kicking.yaml: the user must be in the room (joined, invited or knocking).
  await sendMember(ctx, requester, roomId, target, { membership: 'leave', ...withReason(reason) }, ['join', 'invite', 'knock']);
};

export const ban = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, userId: string, reason?: string): Promise<void> => {
  const target = targetOf(userId);
  await stateAsMember(ctx, requester, roomId);
  await sendMember(ctx, requester, roomId, target, { membership: 'ban', ...withReason(reason) });
};

export const unban = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, userId: string, reason?: string): Promise<void> => {
  const target = targetOf(userId);
  await stateAsMember(ctx, requester, roomId);
  // unban.yaml: a leave that only unbans; on anyone else it would be a kick.
  await sendMember(ctx, requester, roomId, target, { membership: 'leave', ...withReason(reason) }, ['ban']);
};
