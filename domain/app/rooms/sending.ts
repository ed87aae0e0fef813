/**
 * Sending events (room_send.yaml, room_state.yaml PUT, redaction.yaml). Transaction ids are scoped
 * to the device (client-server-api § Transaction identifiers): a retry with the same one answers
 * the first event id and appends nothing.
 */
import { MatrixError } from '../../errors.ts';
import { isRoomAlias, roomAliasServerName } from '../../ids/index.ts';
import type { JsonObject } from '../../json.ts';
import { forbidden, invalidParam, originOf } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';

export const sendMessage = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, type: string, txnId: string, content: JsonObject,
): Promise<string> => {
  if (type === 'm.room.create') throw forbidden('Cannot send m.room.create');
  const result = await ctx.writer.send(roomId, { type, sender: requester.userId, content }, originOf(requester, txnId));
  return result.eventId;
};

export const putState = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, type: string, stateKey: string, content: JsonObject,
): Promise<string> => {
  if (type === 'm.room.member') {
    // Membership has its own endpoints, but clients also set their own profile per room this way.
    if (typeof content.membership !== 'string') throw invalidParam("m.room.member content needs 'membership'");
  }
  if (type === 'm.room.canonical_alias' && stateKey === '') await checkCanonicalAliases(ctx, roomId, content);
  const result = await ctx.writer.send(roomId, { type, stateKey, sender: requester.userId, content }, originOf(requester));
  return result.eventId;
};

/**
 * room_state.yaml: an m.room.canonical_alias whose `alias` or `alt_aliases` are not valid aliases
 * is 400 M_INVALID_PARAM; one naming an alias that does not point to this room is 400 M_BAD_ALIAS.
 * Only this server's aliases can be resolved here; other servers' are taken as given.
 */
const checkCanonicalAliases = async (ctx: RoomsContext, roomId: string, content: JsonObject): Promise<void> => {
  const alt = content.alt_aliases;
  if (alt !== undefined && !Array.isArray(alt)) throw invalidParam("'alt_aliases' must be an array of room aliases");
  const aliases = [...(content.alias === undefined ? [] : [content.alias]), ...(Array.isArray(alt) ? alt : [])];
  for (const alias of aliases) {
    if (typeof alias !== 'string' || !isRoomAlias(alias)) throw invalidParam(`${JSON.stringify(alias)} is not a room alias`);
    if (roomAliasServerName(alias) !== ctx.serverName) continue;
    if ((await ctx.directory.resolveAlias(alias))?.roomId !== roomId) {
      throw new MatrixError('M_BAD_ALIAS', 400, `${alias} does not point to this room`);
    }
  }
};

/**
 * `PUT /rooms/{roomId}/redact/{eventId}/{txnId}` (redaction.yaml). Who may redact what, and
 * whether the redaction takes effect, is the decider's judgement (domain/room/redactions.ts); the
 * writer preloads the target for it.
 */
export const redact = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, eventId: string, txnId: string, reason: string | undefined,
): Promise<string> => {
  const content: JsonObject = reason === undefined ? {} : { reason };
  // Since v11 `redacts` moves into content; the decider places it for the room's version.
  const result = await ctx.writer.send(
    roomId, { type: 'm.room.redaction', sender: requester.userId, content, redacts: eventId }, originOf(requester, txnId));
  return result.eventId;
};
