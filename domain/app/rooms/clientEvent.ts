/**
 * The client event format (client-server-api § Room Event Format, ClientEvent): what /messages,
 * /event, /state, /context and /sync show. Rules are the stored PDU (already redacted when it was)
 * plus `unsigned` computed for the viewer.
 */
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { StoredEvent } from '../../ports/rooms.ts';

export interface Viewer {
  readonly userId: string;
  readonly deviceId: string | null;
}

export const clientEvent = (event: StoredEvent, viewer: Viewer, now: number): JsonObject => {
  const pdu = event.pdu;
  const content = isJsonObject(pdu.content) ? pdu.content : {};
  const formatted: JsonObject = {
    content,
    event_id: event.eventId,
    origin_server_ts: event.originServerTs,
    room_id: event.roomId,
    sender: event.sender,
    type: event.type,
  };
  if (event.stateKey !== null) formatted.state_key = event.stateKey;
  // Since v11 `redacts` lives in content; the top-level copy keeps older clients working.
  const redacts = typeof pdu.redacts === 'string' ? pdu.redacts : typeof content.redacts === 'string' ? content.redacts : undefined;
  if (event.type === 'm.room.redaction' && redacts !== undefined) formatted.redacts = redacts;

  const unsigned: JsonObject = { age: Math.max(0, now - event.originServerTs) };
  // "The client-supplied transaction ID, if the client being given the event is the same one which sent it."
  if (event.local !== null && event.local.txnId !== null && event.local.userId === viewer.userId && event.local.deviceId === viewer.deviceId) {
    unsigned.transaction_id = event.local.txnId;
  }
  if (event.redactedBecause !== null) unsigned.redacted_because = clientEvent(event.redactedBecause, viewer, now);
  if (event.stateKey !== null && event.replacesState !== null) {
    // `replaces_state` is not in the spec's ClientEvent but Synapse sends it and clients read it.
    unsigned.replaces_state = event.replacesState;
    if (event.prevContent !== null) unsigned.prev_content = event.prevContent;
  }
  formatted.unsigned = unsigned;
  return formatted;
};

/** The stripped form of a state event (invite_room_state, knock_room_state). */
export const strippedStateEvent = (event: StoredEvent): JsonObject => ({
  content: isJsonObject(event.pdu.content) ? event.pdu.content : {},
  sender: event.sender,
  state_key: event.stateKey ?? '',
  type: event.type,
});
