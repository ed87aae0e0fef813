/**
 * Sending events (room_send.yaml, room_state.yaml PUT, redaction.yaml). Transaction ids are scoped
 * to the device (client-server-api § Transaction identifiers): a retry with the same one answers
 * the first event id and appends nothing.
 */
import { namedPowerLevel } from '../../auth/index.ts';
import type { JsonObject } from '../../json.ts';
import { forbidden, invalidParam, lookupOf, originOf, powerOf, writerState } from './common.ts';
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
  const result = await ctx.writer.send(roomId, { type, stateKey, sender: requester.userId, content }, originOf(requester));
  return result.eventId;
};

/**
 * Since v3 auth lets any redaction through; whether it applies depends on the sender
 * (rooms/fragments/v3-handling-redactions.md). Local users may redact their own events, or any
 * event with the `redact` power level (client-server-api § Redactions).
 */
export const redact = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, eventId: string, txnId: string, reason: string | undefined,
): Promise<string> => {
  const state = await writerState(ctx, roomId);
  const target = await ctx.rooms.event(eventId);
  const own = target !== undefined && target.roomId === roomId && target.sender === requester.userId;
  if (!own && powerOf(state, requester.userId) < namedPowerLevel('redact', lookupOf(state), state.rules)) {
    throw forbidden('You may only redact your own events');
  }
  const content: JsonObject = reason === undefined ? {} : { reason };
  // Since v11 `redacts` moves into content; the decider places it for the room's version.
  const result = await ctx.writer.send(
    roomId, { type: 'm.room.redaction', sender: requester.userId, content, redacts: eventId }, originOf(requester, txnId));
  return result.eventId;
};
