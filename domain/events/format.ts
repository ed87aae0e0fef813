/**
 * Reading an untrusted PDU through its room version's event format
 * (server-server/definitions/pdu_v1.yaml, pdu_v3, pdu_v4, pdu_v6, pdu_v11, pdu_v12): checks the
 * fields' types, identifier grammar, size limits and (since v6) strict canonical JSON, and gives
 * the `RoomEvent` view that auth rules and state resolution work on. A PDU that fails is dropped
 * (server-server-api.md § Checks performed on receipt of a PDU, step 1).
 */
import { err, ok, parseEventId, parseRoomId, parseUserId, roomIdFromCreateEventId, type EventId, type Result } from '../ids/index.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { eventIdOf } from './eventIds.ts';
import { strictnessOf } from './hashes.ts';
import { pduSizeProblem } from './limits.ts';
import type { Pdu, RoomEvent } from './pdu.ts';

/** pdu_v1.yaml … pdu_v12.yaml: at most 10 auth events and 20 prev events. */
export const MAX_AUTH_EVENTS = 10;
export const MAX_PREV_EVENTS = 20;
/** v1–v5 depth must be below 2^63 − 1; since v6 canonical JSON bounds it by 2^53 − 1. */
const MAX_LEGACY_DEPTH = 2 ** 63 - 1;

const isInteger = (value: JsonValue | undefined): value is number => typeof value === 'number' && Number.isInteger(value);

/** `signatures`: server name → key id → signature string. */
const signaturesProblem = (value: JsonValue | undefined): string | undefined => {
  if (!isJsonObject(value)) return 'signatures is missing or not an object';
  for (const [server, keys] of Object.entries(value)) {
    if (!isJsonObject(keys)) return `signatures.${server} is not an object`;
    if (!Object.values(keys).every((signature) => typeof signature === 'string')) return `signatures.${server} has a non-string signature`;
  }
  return undefined;
};

/**
 * prev_events / auth_events: event ids since v3; `[event_id, {sha256}]` pairs in v1–v2.
 */
const readReferences = (value: JsonValue | undefined, field: string, max: number, rules: RoomVersionRules): Result<string[]> => {
  if (!Array.isArray(value)) return err(`${field} is missing or not an array`);
  if (value.length > max) return err(`${field} lists more than ${max} events`);
  const ids: string[] = [];
  for (const entry of value) {
    let id: JsonValue | undefined = entry;
    if (rules.eventFormat.referencesCarryHashes) {
      if (!Array.isArray(entry) || entry.length !== 2) return err(`${field} entries must be [event_id, hashes] pairs`);
      const hashes = entry[1];
      if (!isJsonObject(hashes) || typeof hashes.sha256 !== 'string') return err(`${field} entry has no sha256 hash`);
      id = entry[0];
    }
    if (typeof id !== 'string') return err(`${field} entries must be event ids`);
    const parsed = parseEventId(id, rules.eventFormat.eventIdFormat);
    if (!parsed.ok) return err(`${field}: ${parsed.error}`);
    ids.push(id);
  }
  return ok(ids);
};

const readRoomId = (pdu: JsonObject, type: string, stateKey: string | undefined, eventId: EventId, rules: RoomVersionRules): Result<string> => {
  if (rules.eventFormat.roomIdIsCreateEventHash) {
    // Since v12 the create event has no room_id: its own id names the room. A create event that
    // still carries one is left for auth rule 1.2 to reject.
    if (type === 'm.room.create' && stateKey === '') return ok(roomIdFromCreateEventId(eventId));
    if (typeof pdu.room_id !== 'string') return err('room_id is missing or not a string');
    const parsed = parseRoomId(pdu.room_id, 'hash');
    return parsed.ok ? ok(parsed.value) : err(parsed.error);
  }
  if (typeof pdu.room_id !== 'string') return err('room_id is missing or not a string');
  const parsed = parseRoomId(pdu.room_id, 'domain');
  return parsed.ok ? ok(parsed.value) : err(parsed.error);
};

/** The redacted event id: top-level `redacts` before v11, `content.redacts` since (v11 auth rules). */
const readRedacts = (pdu: JsonObject, type: string, content: JsonObject, rules: RoomVersionRules): Result<string | undefined> => {
  if (type !== 'm.room.redaction') return ok(undefined);
  const redacts = rules.auth.redactsInContent ? content.redacts : pdu.redacts;
  if (redacts === undefined) return ok(undefined);
  if (typeof redacts !== 'string') return err('redacts is not a string');
  const parsed = parseEventId(redacts);
  return parsed.ok ? ok(redacts) : err(`redacts: ${parsed.error}`);
};

const readPdu = (pdu: JsonObject, rules: RoomVersionRules, knownEventId: string | undefined, sizeMeasured: boolean): Result<RoomEvent> => {
  if (!sizeMeasured) {
    const sizeProblem = pduSizeProblem(pdu, strictnessOf(rules));
    if (sizeProblem !== undefined) return err(sizeProblem.reason);
  }

  const { type, sender, content, state_key: stateKey } = pdu;
  if (typeof type !== 'string') return err('type is missing or not a string');
  if (typeof sender !== 'string') return err('sender is missing or not a string');
  const senderId = parseUserId(sender);
  if (!senderId.ok) return err(`sender: ${senderId.error}`);
  if (!isJsonObject(content)) return err('content is missing or not an object');
  if (stateKey !== undefined && typeof stateKey !== 'string') return err('state_key is not a string');
  if (!isInteger(pdu.origin_server_ts)) return err('origin_server_ts is missing or not an integer');
  const depth = pdu.depth;
  if (!isInteger(depth) || depth < 0 || depth > MAX_LEGACY_DEPTH) return err('depth is missing or not a non-negative integer');
  if (!isJsonObject(pdu.hashes) || typeof pdu.hashes.sha256 !== 'string') return err('hashes.sha256 is missing or not a string');
  const signatures = signaturesProblem(pdu.signatures);
  if (signatures !== undefined) return err(signatures);
  if (pdu.unsigned !== undefined && !isJsonObject(pdu.unsigned)) return err('unsigned is not an object');

  const prevEventIds = readReferences(pdu.prev_events, 'prev_events', MAX_PREV_EVENTS, rules);
  if (!prevEventIds.ok) return prevEventIds;
  const authEventIds = readReferences(pdu.auth_events, 'auth_events', MAX_AUTH_EVENTS, rules);
  if (!authEventIds.ok) return authEventIds;

  let eventId: Result<EventId>;
  if (knownEventId !== undefined) {
    eventId = parseEventId(knownEventId, rules.eventFormat.eventIdFormat);
  } else {
    eventId = eventIdOf(pdu, rules);
  }
  if (!eventId.ok) return eventId;
  const roomId = readRoomId(pdu, type, stateKey, eventId.value, rules);
  if (!roomId.ok) return roomId;
  const redacts = readRedacts(pdu, type, content, rules);
  if (!redacts.ok) return redacts;

  return ok({
    eventId: eventId.value,
    roomId: roomId.value,
    type,
    stateKey,
    sender,
    content,
    originServerTs: pdu.origin_server_ts,
    depth,
    prevEventIds: prevEventIds.value,
    authEventIds: authEventIds.value,
    redacts: redacts.value,
    pdu,
  });
};

const readPduSafely = (pdu: unknown, rules: RoomVersionRules, eventId: string | undefined, sizeMeasured: boolean): Result<RoomEvent> => {
  if (!isJsonObject(pdu as JsonValue)) return err('a PDU must be a JSON object');
  try {
    const knownEventId = rules.eventFormat.eventIdFormat === 'originChosen' ? undefined : eventId;
    return readPdu(pdu as Pdu, rules, knownEventId, sizeMeasured);
  } catch (error) {
    // Defensive: the checks above are meant to cover every input; never let a malformed PDU throw.
    return err(`malformed PDU: ${error instanceof Error ? error.message : String(error)}`);
  }
};

/**
 * Validates a PDU's format for its room version and returns its `RoomEvent` view, or the reason
 * it is malformed. Never throws, whatever JSON it is given. `eventId`, when the caller already
 * knows it (e.g. from the log), saves recomputing the reference hash; in v1–v2 rooms the id is
 * always read from the PDU's `event_id`.
 */
export const toRoomEvent = (pdu: unknown, rules: RoomVersionRules, eventId?: string): Result<RoomEvent> =>
  readPduSafely(pdu, rules, eventId, false);

/**
 * `toRoomEvent` for a PDU `buildPdu` has just built and measured (size limits and canonical form
 * checked on the bytes it hashed): every other format check still runs, the size is not measured
 * again. Untrusted PDUs go through `toRoomEvent`.
 */
export const toRoomEventOfBuiltPdu = (pdu: Pdu, rules: RoomVersionRules, eventId: string): Result<RoomEvent> =>
  readPduSafely(pdu, rules, eventId, true);
