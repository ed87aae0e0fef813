/**
 * Event ids per room version (rules.eventFormat.eventIdFormat): chosen by the origin and carried
 * in the PDU in v1–v2 (rooms/fragments/v1-event-ids.md), `$` + Base64 of the reference hash in v3,
 * URL-safe Base64 since v4 (v4-event-ids.md). Since v12 the room id is the create event's id.
 */
import { encodeBase64, encodeBase64Url } from '../base64.ts';
import { CanonicalJsonError } from '../canonicalJson.ts';
import { err, ok, parseEventId, roomIdFromCreateEventId, type EventId, type Result, type RoomId } from '../ids/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { referenceHash } from './hashes.ts';
import type { Pdu } from './pdu.ts';

/**
 * The hash-derived event id of a PDU in a v3+ room. Throws CanonicalJsonError when the event has
 * no canonical form, and Error for v1–v2 rooms, whose ids are not hashes.
 */
export const referenceHashEventId = (pdu: Pdu, rules: RoomVersionRules): EventId => {
  if (rules.eventFormat.eventIdFormat === 'originChosen') {
    throw new Error(`room version ${rules.id}: event ids are chosen by the origin, not hashed`);
  }
  return eventIdOfReferenceHash(referenceHash(pdu, rules), rules);
};

/** The v3+ event id written from a reference hash already computed. Throws Error for v1–v2 rooms. */
export const eventIdOfReferenceHash = (hash: Uint8Array, rules: RoomVersionRules): EventId => {
  switch (rules.eventFormat.eventIdFormat) {
    case 'referenceHashBase64':
      return `$${encodeBase64(hash)}` as EventId;
    case 'referenceHashUrlSafeBase64':
      return `$${encodeBase64Url(hash)}` as EventId;
    case 'originChosen':
      throw new Error(`room version ${rules.id}: event ids are chosen by the origin, not hashed`);
  }
};

/** The event id of an untrusted PDU: read from it in v1–v2, computed from it since v3. */
export const eventIdOf = (pdu: Pdu, rules: RoomVersionRules): Result<EventId> => {
  if (rules.eventFormat.eventIdFormat === 'originChosen') {
    const eventId = pdu.event_id;
    if (typeof eventId !== 'string') return err('event_id is missing or not a string');
    return parseEventId(eventId, 'originChosen');
  }
  try {
    return ok(referenceHashEventId(pdu, rules));
  } catch (error) {
    if (error instanceof CanonicalJsonError) return err(`event is not canonical JSON: ${error.message}`);
    throw error;
  }
};

/** Since v12: the room id of the room a create event starts (its event id with the `!` sigil). */
export const roomIdOfCreateEvent = (createPdu: Pdu, rules: RoomVersionRules): RoomId =>
  roomIdFromCreateEventId(referenceHashEventId(createPdu, rules));
