/**
 * Builders shared by the state resolution tests: fixture JSON → RoomEvent, and an in-memory event
 * store. Not exported from index.ts.
 */
import type { JsonObject, JsonValue } from '../../domain/index.ts';
import { isJsonObject } from '../../domain/index.ts';
import type { RoomEvent, StateMap } from '../../domain/events/index.ts';
import { stateKeyOf, stateTupleOf } from '../../domain/events/index.ts';

const strings = (value: JsonValue | undefined): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];

/** Reads a fixture PDU (v3+ shape: references are bare event ids). */
export const roomEventFromJson = (json: JsonObject, defaults: { roomId?: string } = {}): RoomEvent => {
  const eventId = json.event_id as string;
  const content = isJsonObject(json.content) ? json.content : {};
  const redacts = typeof json.redacts === 'string' ? json.redacts : typeof content.redacts === 'string' ? content.redacts : undefined;
  return {
    eventId,
    roomId: typeof json.room_id === 'string' ? json.room_id : (defaults.roomId ?? `!${eventId.slice(1)}`),
    type: json.type as string,
    stateKey: typeof json.state_key === 'string' ? json.state_key : undefined,
    sender: json.sender as string,
    content,
    originServerTs: typeof json.origin_server_ts === 'number' ? json.origin_server_ts : 0,
    depth: typeof json.depth === 'number' ? json.depth : 0,
    prevEventIds: strings(json.prev_events),
    authEventIds: strings(json.auth_events),
    redacts,
    pdu: json,
  };
};

/** A state map from state events. */
export const stateMapOf = (events: Iterable<RoomEvent>): Map<string, string> => {
  const map = new Map<string, string>();
  for (const event of events) if (event.stateKey !== undefined) map.set(stateKeyOf(event.type, event.stateKey), event.eventId);
  return map;
};

/** A state map as `{ "type|state_key": event_id }`, the shape the vector manifests use. */
export const stateMapToRecord = (state: StateMap): Record<string, string> => {
  const record: Record<string, string> = {};
  for (const key of [...state.keys()].sort()) {
    const { type, stateKey } = stateTupleOf(key);
    record[`${type}|${stateKey}`] = state.get(key) as string;
  }
  return record;
};

/** An event store keyed by id. */
export const eventStore = (events: Iterable<RoomEvent>): Map<string, RoomEvent> => {
  const store = new Map<string, RoomEvent>();
  for (const event of events) store.set(event.eventId, event);
  return store;
};

/** A bare event for graph-only tests: just an id, auth events and optional overrides. */
export { graphEvent } from '../fixtures/index.ts';
