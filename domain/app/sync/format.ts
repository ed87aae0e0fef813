/**
 * Events as /sync shows them: ClientEventWithoutRoomID (client-server-api § Syncing: the room id
 * is the key they are listed under), or the PDU for `event_format: federation`, trimmed to the
 * filter's `event_fields` (dot-separated paths; "a server may include more fields than requested").
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../json.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import { clientEvent, strippedStateEvent, type Viewer } from '../rooms/index.ts';
import type { Filter } from '../userData/index.ts';

/** Splits a path on dots not escaped by a backslash (`content.m\.relates_to`). */
const pathOf = (field: string): string[] => field.split(/(?<!\\)\./).map((part) => part.replace(/\\\./g, '.'));

const pick = (source: JsonObject, paths: readonly string[][]): JsonObject => {
  const result: JsonObject = {};
  for (const path of paths) {
    let from: JsonValue | undefined = source;
    let to: JsonObject = result;
    for (let i = 0; i < path.length; i++) {
      if (!isJsonObject(from)) break;
      const key = path[i]!;
      const value: JsonValue | undefined = from[key];
      if (value === undefined) break;
      if (i === path.length - 1) {
        to[key] = value;
      } else {
        const next = isJsonObject(to[key]) ? (to[key] as JsonObject) : {};
        to[key] = next;
        to = next;
      }
      from = value;
    }
  }
  return result;
};

export const applyEventFields = (event: JsonObject, fields: readonly string[] | undefined): JsonObject =>
  fields === undefined ? event : pick(event, fields.map(pathOf));

/**
 * `event_format: federation`: the PDU as its room version defines it, plus `event_id` (which PDUs of
 * room versions 3 and later do not carry, and which clients address events by) and the viewer's
 * `unsigned` — age, the sending device's transaction id, the replaced state, the redaction — as
 * Synapse serialises it (`format_event_raw`).
 */
const federationEvent = (event: StoredEvent, viewer: Viewer, now: number): JsonObject => {
  const unsigned = clientEvent(event, viewer, now).unsigned as JsonObject;
  if (event.redactedBecause !== null) unsigned.redacted_because = federationEvent(event.redactedBecause, viewer, now);
  return { ...event.pdu, event_id: event.eventId, unsigned };
};

export interface EventFormatter {
  (event: StoredEvent): JsonObject;
}

export const eventFormatter = (filter: Filter, viewer: Viewer, now: number): EventFormatter => (event) => {
  let formatted: JsonObject;
  if (filter.eventFormat === 'federation') {
    formatted = federationEvent(event, viewer, now);
  } else {
    const { room_id: _roomId, ...rest } = clientEvent(event, viewer, now);
    formatted = rest;
  }
  return applyEventFields(formatted, filter.eventFields);
};

export { strippedStateEvent };
