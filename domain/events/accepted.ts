/**
 * The `RoomEvent` view of a PDU read back from the log. Every record there was validated when it
 * was accepted (format, size, hashes, signatures, auth), so readers of the log (projections, the
 * writer's state fold) need not pay for `toRoomEvent` again: no size or format checks, no hashing.
 * Never use it for a PDU that did not come from the log (federation, clients): `toRoomEvent`.
 */
import { roomIdFromCreateEventId, type EventId } from '../ids/index.ts';
import { isJsonObject, type JsonValue } from '../json.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import type { Pdu, RoomEvent } from './pdu.ts';

/** v1–v2 references are `[event_id, {sha256}]` pairs; since v3 plain event ids. */
const referencedIds = (value: JsonValue | undefined, rules: RoomVersionRules): string[] => {
  if (!Array.isArray(value)) return [];
  if (!rules.eventFormat.referencesCarryHashes) return value as string[];
  return value.map((entry) => (Array.isArray(entry) ? entry[0] : entry) as string);
};

/**
 * The view of an accepted PDU whose event id the log record carries. Since v12 a create event
 * has no `room_id`: its room id is its event id with the `!` sigil.
 */
export const roomEventOfAcceptedPdu = (pdu: Pdu, rules: RoomVersionRules, eventId: string): RoomEvent => {
  const type = pdu.type as string;
  const stateKey = typeof pdu.state_key === 'string' ? pdu.state_key : undefined;
  const content = isJsonObject(pdu.content) ? pdu.content : {};
  const isV12Create = rules.eventFormat.roomIdIsCreateEventHash && type === 'm.room.create' && stateKey === '';
  const redacts = type !== 'm.room.redaction' ? undefined : rules.auth.redactsInContent ? content.redacts : pdu.redacts;
  return {
    eventId,
    roomId: isV12Create ? roomIdFromCreateEventId(eventId as EventId) : (pdu.room_id as string),
    type,
    stateKey,
    sender: pdu.sender as string,
    content,
    originServerTs: pdu.origin_server_ts as number,
    depth: pdu.depth as number,
    prevEventIds: referencedIds(pdu.prev_events, rules),
    authEventIds: referencedIds(pdu.auth_events, rules),
    redacts: typeof redacts === 'string' ? redacts : undefined,
    pdu,
  };
};
