/**
 * Our users in rooms that live on other servers (server-server-api § Joining Rooms, § Inviting to
 * a room, § Leaving Rooms): joining through a resident server, inviting another server's user
 * (who must co-sign the invite first), rejecting an invite to a room we are not in.
 */
import { MatrixError } from '../../../errors.ts';
import { hashAndSignEvent, referenceHashEventId, toRoomEvent, type Pdu } from '../../../events/index.ts';
import { isUserId, userServerName, type UserId } from '../../../ids/index.ts';
import { isJsonObject, type JsonObject } from '../../../json.ts';
import { ROOM_VERSIONS, roomVersionRules, type RoomVersionRules } from '../../../roomVersions/index.ts';
import type { RoomFederation } from '../../rooms/context.ts';
import type { FederationRoomsContext } from './context.ts';
import { strippedStateOf } from './membership.ts';

/** Servers tried for one join, in the order given. */
const MAX_JOIN_SERVERS = 10;


const random = (): string => Math.random().toString(36).slice(2, 14) + Date.now().toString(36);

/** Our event from a template: our content over it, our hashes and signature; its id. */
const signTemplate = (ctx: FederationRoomsContext, template: JsonObject, rules: RoomVersionRules, content: JsonObject): { pdu: Pdu; eventId: string } => {
  const { signatures: _signatures, hashes: _hashes, unsigned: _unsigned, event_id: _eventId, ...fields } = template;
  const base: Pdu = { ...fields, origin: ctx.serverName, origin_server_ts: ctx.now(), content: { ...(isJsonObject(fields.content) ? fields.content : {}), ...content } };
  // v1–v2: the origin chooses the id.
  if (rules.eventFormat.eventIdFormat === 'originChosen') base.event_id = `$${random()}:${ctx.serverName}`;
  const pdu = hashAndSignEvent(base, rules, ctx.signingKey());
  const eventId = rules.eventFormat.eventIdFormat === 'originChosen' ? String(base.event_id) : referenceHashEventId(pdu, rules);
  return { pdu, eventId };
};

const templateMatches = (template: JsonObject, roomId: string, userId: string, membership: string): boolean =>
  template.type === 'm.room.member' && template.room_id === roomId && template.sender === userId && template.state_key === userId
  && isJsonObject(template.content) && template.content.membership === membership;

/** Tries `attempt` with each candidate server in turn; the last failure when none succeeds. */
const throughFirst = async (ctx: FederationRoomsContext, servers: readonly string[], what: string, attempt: (server: string) => Promise<void>): Promise<void> => {
  const candidates = [...new Set(servers)].filter((server) => server !== ctx.serverName).slice(0, MAX_JOIN_SERVERS);
  if (candidates.length === 0) throw new MatrixError('M_NOT_FOUND', 404, `No known servers to ${what} through`);
  let failure: unknown;
  for (const server of candidates) {
    try {
      return await attempt(server);
    } catch (error) {
      failure = error;
    }
  }
  if (failure instanceof MatrixError) throw failure;
  throw new MatrixError('M_UNKNOWN', 502, `Failed to ${what} through ${candidates.join(', ')}`);
};

/** A `make_*` template checked (a room version we know, our user's membership) and signed as ours. */
const ourEventFrom = (
  ctx: FederationRoomsContext, server: string, made: { roomVersion: string; event: JsonObject }, roomId: string, userId: string, membership: string, content: JsonObject,
): { rules: RoomVersionRules; pdu: Pdu; eventId: string } => {
  const rules = roomVersionRules(made.roomVersion);
  if (rules === undefined) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', 400, `room version ${made.roomVersion} is not supported`);
  if (!templateMatches(made.event, roomId, userId, membership)) throw new MatrixError('M_UNKNOWN', 502, `${server} proposed an unexpected ${membership} event`);
  return { rules, ...signTemplate(ctx, made.event, rules, { ...content, membership }) };
};

export const createRoomFederation = (ctx: FederationRoomsContext): RoomFederation => ({
  join: (userId, roomId, servers, content) => throughFirst(ctx, servers, `join ${roomId}`, async (server) => {
    const made = await ctx.remoteRooms.makeJoin(server, roomId, userId, [...ROOM_VERSIONS.keys()]);
    const { rules, pdu, eventId } = ourEventFrom(ctx, server, made, roomId, userId, 'join', content);
    const answer = await ctx.remoteRooms.sendJoin(server, roomId, eventId, pdu);
    // Restricted rooms: the resident server signs our join too; anything else stays ours.
    const theirs = answer.event === undefined ? undefined : toRoomEvent(answer.event, rules);
    const join = theirs?.ok === true && theirs.value.eventId === eventId ? answer.event as Pdu : pdu;
    const result = await ctx.writer.importJoin({ roomId, roomVersion: rules.id, state: answer.state, authChain: answer.authChain, join });
    if (result.outcome === 'accepted' || result.outcome === 'known') return;
    throw new MatrixError('M_UNKNOWN', 502, `the room ${server} gave could not be joined: ${'reason' in result ? result.reason : result.outcome}`);
  }),

  async invite(userId, roomId, invitee, content) {
    if (!isUserId(invitee)) throw new MatrixError('M_INVALID_PARAM', 400, `Invalid user id ${invitee}`);
    const state = await ctx.writer.state(roomId);
    if (state?.rules === undefined || state.rules === null) throw new MatrixError('M_NOT_FOUND', 404, `Unknown room ${roomId}`);
    const rules = state.rules;
    const pdu = await ctx.writer.prepare(roomId, { type: 'm.room.member', stateKey: invitee, sender: userId, content: { ...content, membership: 'invite' } });
    const event = toRoomEvent(pdu, rules);
    if (!event.ok) throw new MatrixError('M_UNKNOWN', 500, event.error);
    const server = userServerName(invitee as UserId);
    const signed = await ctx.remoteRooms.invite(server, roomId, event.value.eventId, {
      roomVersion: rules.id, event: pdu, inviteRoomState: strippedStateOf([...state.stateEvents.values()].map((stateEvent) => stateEvent.pdu), userId),
    });
    const returned = toRoomEvent(signed, rules);
    if (!returned.ok || returned.value.eventId !== event.value.eventId) throw new MatrixError('M_UNKNOWN', 502, `${server} returned another event than the invite`);
    const result = await ctx.writer.ingest(roomId, signed, ctx.serverName);
    if (result.outcome === 'accepted' || result.outcome === 'known') return event.value.eventId;
    throw new MatrixError('M_FORBIDDEN', 403, `the invite could not enter the room: ${'reason' in result ? result.reason : result.outcome}`);
  },

  knock: (userId, roomId, servers, content) => throughFirst(ctx, servers, `knock on ${roomId}`, async (server) => {
    const made = await ctx.remoteRooms.makeKnock(server, roomId, userId, [...ROOM_VERSIONS.keys()]);
    const { rules, pdu, eventId } = ourEventFrom(ctx, server, made, roomId, userId, 'knock', content);
    const strippedState = await ctx.remoteRooms.sendKnock(server, roomId, eventId, pdu);
    await ctx.writer.recordOutOfBand({ roomId, roomVersion: rules.id, eventId, pdu, strippedState });
  }),

  async leaveThrough(userId, roomId, server, content) {
    const made = await ctx.remoteRooms.makeLeave(server, roomId, userId);
    const { rules, pdu, eventId } = ourEventFrom(ctx, server, made, roomId, userId, 'leave', content);
    await ctx.remoteRooms.sendLeave(server, roomId, eventId, pdu);
    await ctx.writer.recordOutOfBand({ roomId, roomVersion: rules.id, eventId, pdu, strippedState: [] });
  },
});
