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

export interface EventFormatter {
  (event: StoredEvent): JsonObject;
}

export const eventFormatter = (filter: Filter, viewer: Viewer, now: number): EventFormatter => (event) => {
  let formatted: JsonObject;
  if (filter.eventFormat === 'federation') {
    formatted = { ...event.pdu, unsigned: { age: Math.max(0, now - event.originServerTs) } };
  } else {
    const { room_id: _roomId, ...rest } = clientEvent(event, viewer, now);
    formatted = rest;
  }
  return applyEventFields(formatted, filter.eventFields);
};

export { strippedStateEvent };
