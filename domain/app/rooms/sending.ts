/**
 * Sending events (room_send.yaml, room_state.yaml PUT, redaction.yaml). Transaction ids are scoped
 * to the device (client-server-api § Transaction identifiers): a retry with the same one answers
 * the first event id and appends nothing.
 */
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
  // Whether a canonical alias's aliases point here is the decider's judgement (localPolicy.ts);
  // the writer preloads them from the directory.
  const result = await ctx.writer.send(roomId, { type, stateKey, sender: requester.userId, content }, originOf(requester));
  return result.eventId;
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
