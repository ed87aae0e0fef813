/**
 * Membership changes (client-server-api § Room membership: joining.yaml, leaving.yaml,
 * inviting.yaml, kicking.yaml, banning.yaml, knocking.yaml). The auth rules decide who may; these
 * use-cases build the m.room.member event and resolve aliases.
 */
import { MatrixError } from '../../errors.ts';
import { isRoomAlias, isUserId, parseRoomId, roomAliasServerName, roomIdServerName, userServerName, type RoomAlias, type UserId } from '../../ids/index.ts';
import type { RoomState } from '../../room/index.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import { invalidParam, memberContent, membershipIn, notFound, notInRoom, originOf, withReason } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { restrictedJoinContent } from './restrictedJoin.ts';
import { resolveAliasAskingBridges } from '../appservices/index.ts';

const FEDERATION_UNSUPPORTED = 'this server does not federate';

/** A room id, or an alias resolved to one (another server's through federation), with servers to join through. */
const resolveRoomAndServers = async (ctx: RoomsContext, roomIdOrAlias: string): Promise<{ roomId: string; servers: readonly string[] }> => {
  if (isRoomAlias(roomIdOrAlias)) {
    const found = await resolveAliasAskingBridges(ctx.directory, ctx.bridgeQueries, roomIdOrAlias);
    if (found !== undefined) return { roomId: found.roomId, servers: [] };
    const server = roomAliasServerName(roomIdOrAlias as RoomAlias);
    if (server === ctx.serverName) throw notFound(`Room alias ${roomIdOrAlias} not found`);
    if (ctx.remoteServers === undefined) throw notFound(`Room alias ${roomIdOrAlias} is on another server: ${FEDERATION_UNSUPPORTED}`);
    const remote = await ctx.remoteServers.queryDirectory(server, roomIdOrAlias);
    return { roomId: remote.roomId, servers: [...remote.servers, server] };
  }
  const parsed = parseRoomId(roomIdOrAlias);
  if (!parsed.ok) throw invalidParam(`${roomIdOrAlias} is neither a room id nor a room alias`);
  return { roomId: parsed.value, servers: [] };
};

/** A room id, or an alias resolved to one. */
export const resolveRoom = async (ctx: RoomsContext, roomIdOrAlias: string): Promise<string> => (await resolveRoomAndServers(ctx, roomIdOrAlias)).roomId;

/** 404 for rooms this server has never seen (and cannot join through another server). */
const knownRoom = async (ctx: RoomsContext, roomId: string) => {
  const state = await ctx.writer.state(roomId);
  if (state === undefined) {
    const parsed = parseRoomId(roomId);
    const server = parsed.ok ? roomIdServerName(parsed.value) : undefined;
    throw notFound(server !== undefined && server !== ctx.serverName
      ? `Room ${roomId} is on another server: ${FEDERATION_UNSUPPORTED}`
      : `Unknown room ${roomId}`);
  }
  return state;
};

/** Whether one of our users is joined: only then is our copy of the room live (its events reach us). */
const participating = (state: RoomState | undefined, serverName: string): boolean => {
  if (state === undefined) return false;
  for (const event of state.stateEvents.values()) {
    if (event.type === 'm.room.member' && event.content.membership === 'join' && event.stateKey?.endsWith(`:${serverName}`)) return true;
  }
  return false;
};

const serverOfUser = (userId: string | undefined): string | undefined => (userId !== undefined && isUserId(userId) ? userServerName(userId as UserId) : undefined);

/** The server of whoever invited `userId` to a room we hold only their invite of (records.ts `membership.outOfBand`). */
const inviterServer = async (ctx: RoomsContext, roomId: string, userId: string): Promise<string | undefined> => {
  const member = await ctx.rooms.stateEvent(roomId, 'm.room.member', userId);
  const content = member?.pdu.content;
  return isJsonObject(content) && content.membership === 'invite' ? serverOfUser(member?.sender) : undefined;
};

/** A server to leave through a room we hold only our user's invite or knock of: the inviter's, or the room id's. */
const outOfBandServer = async (ctx: RoomsContext, roomId: string, userId: string): Promise<string | undefined> => {
  const invited = await inviterServer(ctx, roomId, userId);
  if (invited !== undefined) return invited;
  const member = await ctx.rooms.stateEvent(roomId, 'm.room.member', userId);
  const content = member?.pdu.content;
  if (!isJsonObject(content) || content.membership !== 'knock') return undefined;
  const parsed = parseRoomId(roomId);
  return parsed.ok ? roomIdServerName(parsed.value) : undefined;
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

/**
 * What a client may add to its own join's content (Synapse copies the body of `POST /join/{roomIdOrAlias}`
 * into it, per-room displayname and avatar included): never `membership`, nor the authoriser of a
 * restricted join, which only this server names (restrictedJoin.ts).
 */
const clientJoinFields = (fields: JsonObject): JsonObject => {
  const { membership: _membership, join_authorised_via_users_server: _authoriser, ...rest } = fields;
  return rest;
};

export const join = async (
  ctx: RoomsContext, requester: RoomRequester, roomIdOrAlias: string, reason?: string, via: readonly string[] = [], fields: JsonObject = {},
): Promise<string> => {
  const extra = clientJoinFields(fields);
  const { roomId, servers } = await resolveRoomAndServers(ctx, roomIdOrAlias);
  const current = await ctx.writer.state(roomId);
  // A room none of our users is in lives on other servers: join through one of them.
  if (!participating(current, ctx.serverName) && ctx.federation !== undefined) {
    // A guest may join only a room whose guest access this server can read, before joining (as
    // Synapse: the decider judges joins to rooms we are in; of other rooms we hold no state).
    if (requester.isGuest === true) throw new MatrixError('M_FORBIDDEN', 403, 'Guest access not allowed');
    const parsed = parseRoomId(roomId);
    const candidates = [...via, ...servers, await inviterServer(ctx, roomId, requester.userId), parsed.ok ? roomIdServerName(parsed.value) : undefined]
      .filter((server): server is string => server !== undefined && server !== ctx.serverName);
    if (candidates.length > 0) {
      await ctx.federation.join(requester.userId, roomId, candidates, await memberContent(ctx, requester.userId, 'join', { ...extra, ...withReason(reason) }));
      await ctx.directory.setForgotten(requester.userId, roomId, false);
      return roomId;
    }
  }
  const state = await knownRoom(ctx, roomId);
  // Since v8: a join to a restricted room names a local member who may invite (restrictedJoin.ts).
  const authorised = state.rules === null ? {} : await restrictedJoinContent(ctx, roomId, { ...state, rules: state.rules }, requester.userId);
  await sendMember(ctx, requester, roomId, requester.userId, await memberContent(ctx, requester.userId, 'join', { ...extra, ...withReason(reason), ...authorised }));
  await ctx.directory.setForgotten(requester.userId, roomId, false);
  return roomId;
};

export const knock = async (ctx: RoomsContext, requester: RoomRequester, roomIdOrAlias: string, reason?: string, via: readonly string[] = []): Promise<string> => {
  const { roomId, servers } = await resolveRoomAndServers(ctx, roomIdOrAlias);
  const current = await ctx.writer.state(roomId);
  // A room none of our users is in: knock through one of its servers.
  if (!participating(current, ctx.serverName) && ctx.federation !== undefined) {
    const parsed = parseRoomId(roomId);
    const candidates = [...via, ...servers, parsed.ok ? roomIdServerName(parsed.value) : undefined]
      .filter((server): server is string => server !== undefined && server !== ctx.serverName);
    if (candidates.length > 0) {
      await ctx.federation.knock(requester.userId, roomId, candidates, await memberContent(ctx, requester.userId, 'knock', withReason(reason)));
      return roomId;
    }
  }
  await knownRoom(ctx, roomId);
  await sendMember(ctx, requester, roomId, requester.userId, await memberContent(ctx, requester.userId, 'knock', withReason(reason)));
  return roomId;
};

export const leave = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, reason?: string): Promise<void> => {
  const state = await ctx.writer.state(roomId);
  if (state === undefined && ctx.federation !== undefined) {
    // Rejecting an invite to (or withdrawing a knock on) a room we are not in goes through another server.
    const server = await outOfBandServer(ctx, roomId, requester.userId);
    if (server !== undefined) return ctx.federation.leaveThrough(requester.userId, roomId, server, withReason(reason));
  }
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
export const invite = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, userId: string, reason?: string, thirdPartyInvite?: JsonObject,
): Promise<void> => {
  const target = targetOf(userId);
  await stateAsMember(ctx, requester, roomId);
  const content = await memberContent(ctx, target, 'invite', {
    ...withReason(reason), ...(thirdPartyInvite === undefined ? {} : { third_party_invite: thirdPartyInvite }),
  });
  // Another server's user: their server co-signs the invite before it enters the room.
  if (serverOfUser(target) !== ctx.serverName && ctx.federation !== undefined) {
    await ctx.federation.invite(requester.userId, roomId, target, content);
    return;
  }
  await sendMember(ctx, requester, roomId, target, content);
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
