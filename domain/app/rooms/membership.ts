/**
 * Membership changes (client-server-api § Room membership: joining.yaml, leaving.yaml,
 * inviting.yaml, kicking.yaml, banning.yaml, knocking.yaml). The auth rules decide who may; these
 * use-cases build the m.room.member event and resolve aliases.
 */
import { MatrixError } from '../../errors.ts';
import { isRoomAlias, isUserId, parseRoomId, roomAliasServerName, roomIdServerName, type RoomAlias } from '../../ids/index.ts';
import type { JsonObject } from '../../json.ts';
import { forbidden, invalidParam, memberContent, membershipIn, notFound, originOf, withReason, writerState } from './common.ts';
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

const sendMember = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, target: string, content: JsonObject): Promise<string> =>
  (await ctx.writer.send(roomId, { type: 'm.room.member', stateKey: target, sender: requester.userId, content }, originOf(requester))).eventId;

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
  const state = await knownRoom(ctx, roomId);
  const membership = membershipIn(state, requester.userId);
  // Leaving a room one already left (or was never in) changes nothing.
  if (membership === undefined || membership === 'leave') return;
  await sendMember(ctx, requester, roomId, requester.userId, { membership: 'leave', ...withReason(reason) });
};

export const forget = async (ctx: RoomsContext, requester: RoomRequester, roomId: string): Promise<void> => {
  const state = await writerState(ctx, roomId);
  const membership = membershipIn(state, requester.userId);
  if (membership === 'join' || membership === 'invite' || membership === 'knock') {
    throw new MatrixError('M_UNKNOWN', 400, 'The user has not left the room');
  }
  await ctx.directory.setForgotten(requester.userId, roomId, true);
};

const targetOf = (userId: string): string => {
  if (!isUserId(userId)) throw invalidParam(`Invalid user id ${userId}`);
  return userId;
};

export const invite = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, userId: string, reason?: string): Promise<void> => {
  const target = targetOf(userId);
  const state = await writerState(ctx, roomId);
  if (membershipIn(state, target) === 'ban') throw forbidden(`${target} is banned from the room`);
  await sendMember(ctx, requester, roomId, target, await memberContent(ctx, target, 'invite', withReason(reason)));
};

export const kick = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, userId: string, reason?: string): Promise<void> => {
  const target = targetOf(userId);
  const state = await writerState(ctx, roomId);
  const membership = membershipIn(state, target);
  if (membership === undefined || membership === 'leave' || membership === 'ban') throw forbidden(`${target} is not in the room`);
  await sendMember(ctx, requester, roomId, target, { membership: 'leave', ...withReason(reason) });
};

export const ban = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, userId: string, reason?: string): Promise<void> => {
  const target = targetOf(userId);
  await writerState(ctx, roomId);
  await sendMember(ctx, requester, roomId, target, { membership: 'ban', ...withReason(reason) });
};

export const unban = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, userId: string, reason?: string): Promise<void> => {
  const target = targetOf(userId);
  const state = await writerState(ctx, roomId);
  if (membershipIn(state, target) !== 'ban') throw forbidden(`${target} is not banned`);
  await sendMember(ctx, requester, roomId, target, { membership: 'leave', ...withReason(reason) });
};
