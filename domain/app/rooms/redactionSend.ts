/**
 * `PUT /rooms/{roomId}/send/m.room.redaction/{txnId}` (room_send.yaml, since v1.18, MSC4169):
 * "Homeservers MUST allow clients to send m.room.redaction events with this endpoint for all room
 * versions. In rooms with a version older than 11 they MUST move the redacts property inside the
 * content to the top level of the event." Who may redact is judged by the decider, as for /redact.
 */
import { parseEventId } from '../../ids/index.ts';
import type { JsonObject } from '../../json.ts';
import { badJson, originOf } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { massagedTimestamp } from './sending.ts';

export const sendRedaction = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, txnId: string | null, content: JsonObject, ts?: string,
): Promise<string> => {
  const { redacts, ...rest } = content;
  if (typeof redacts !== 'string' || !parseEventId(redacts).ok) throw badJson("m.room.redaction content needs 'redacts', an event id");
  // The event builder puts `redacts` in content since v11 and at the top level before.
  const result = await ctx.writer.send(
    roomId, { type: 'm.room.redaction', sender: requester.userId, content: rest, redacts, ...massagedTimestamp(requester, ts) }, originOf(requester, txnId));
  return result.eventId;
};
