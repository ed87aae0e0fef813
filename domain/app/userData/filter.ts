/**
 * Filters (client-server-api § Filtering, filter.yaml, definitions/sync_filter.yaml): parsing and
 * validation of the JSON, and matching of events. /sync and /messages use the parsed form.
 * Unknown keys are ignored; a known key of the wrong shape is M_BAD_JSON, as Synapse's filter schema
 * decides: user and room id lists hold valid ids, `limit` is a non-negative integer (0: no events).
 */
import { isRoomId, isUserId } from '../../ids/index.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../json.ts';
import { LIMITS } from '../../limits.ts';
import { badJson } from './errors.ts';

export interface EventFilter {
  readonly limit?: number;
  readonly types?: readonly string[];
  readonly notTypes: readonly string[];
  readonly senders?: readonly string[];
  readonly notSenders: readonly string[];
}

export interface RoomEventFilter extends EventFilter {
  readonly rooms?: readonly string[];
  readonly notRooms: readonly string[];
  readonly containsUrl?: boolean;
  readonly lazyLoadMembers: boolean;
  readonly includeRedundantMembers: boolean;
  readonly unreadThreadNotifications: boolean;
}

export interface RoomFilter {
  readonly rooms?: readonly string[];
  readonly notRooms: readonly string[];
  readonly includeLeave: boolean;
  readonly timeline: RoomEventFilter;
  readonly state: RoomEventFilter;
  readonly ephemeral: RoomEventFilter;
  readonly accountData: RoomEventFilter;
}

export interface Filter {
  readonly eventFields?: readonly string[];
  readonly eventFormat: 'client' | 'federation';
  readonly presence: EventFilter;
  readonly accountData: EventFilter;
  readonly room: RoomFilter;
}

const stringList = (object: JsonObject, key: string, path: string): string[] | undefined => {
  const value = object[key];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw badJson(`'${path}${key}' must be an array of strings`);
  }
  if (value.length > LIMITS.filterListEntries) throw badJson(`'${path}${key}' may have at most ${LIMITS.filterListEntries} entries`);
  return value as string[];
};

const idList = (object: JsonObject, key: string, path: string, kind: 'user' | 'room'): string[] | undefined => {
  const list = stringList(object, key, path);
  const valid = kind === 'user' ? isUserId : isRoomId;
  const invalid = list?.find((id) => !valid(id));
  if (invalid !== undefined) throw badJson(`'${path}${key}' must hold ${kind} ids: ${JSON.stringify(invalid)} is not one`);
  return list;
};

const bool = (object: JsonObject, key: string, path: string): boolean | undefined => {
  const value = object[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw badJson(`'${path}${key}' must be a boolean`);
  return value;
};

const objectAt = (object: JsonObject, key: string, path: string): JsonObject => {
  const value = object[key];
  if (value === undefined) return {};
  if (!isJsonObject(value)) throw badJson(`'${path}${key}' must be an object`);
  return value;
};

const parseEventFilter = (json: JsonObject, path: string): EventFilter => {
  const limit = json.limit;
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0)) {
    throw badJson(`'${path}limit' must be a non-negative integer`);
  }
  const types = stringList(json, 'types', path);
  const senders = idList(json, 'senders', path, 'user');
  return {
    ...(limit === undefined ? {} : { limit }),
    ...(types === undefined ? {} : { types }),
    notTypes: stringList(json, 'not_types', path) ?? [],
    ...(senders === undefined ? {} : { senders }),
    notSenders: idList(json, 'not_senders', path, 'user') ?? [],
  };
};

const parseRoomEventFilter = (json: JsonObject, path: string): RoomEventFilter => {
  const rooms = idList(json, 'rooms', path, 'room');
  const containsUrl = bool(json, 'contains_url', path);
  return {
    ...parseEventFilter(json, path),
    ...(rooms === undefined ? {} : { rooms }),
    notRooms: idList(json, 'not_rooms', path, 'room') ?? [],
    ...(containsUrl === undefined ? {} : { containsUrl }),
    lazyLoadMembers: bool(json, 'lazy_load_members', path) ?? false,
    includeRedundantMembers: bool(json, 'include_redundant_members', path) ?? false,
    unreadThreadNotifications: bool(json, 'unread_thread_notifications', path) ?? false,
  };
};

const parseRoomFilter = (json: JsonObject): RoomFilter => {
  const rooms = idList(json, 'rooms', 'room.', 'room');
  return {
    ...(rooms === undefined ? {} : { rooms }),
    notRooms: idList(json, 'not_rooms', 'room.', 'room') ?? [],
    includeLeave: bool(json, 'include_leave', 'room.') ?? false,
    timeline: parseRoomEventFilter(objectAt(json, 'timeline', 'room.'), 'room.timeline.'),
    state: parseRoomEventFilter(objectAt(json, 'state', 'room.'), 'room.state.'),
    ephemeral: parseRoomEventFilter(objectAt(json, 'ephemeral', 'room.'), 'room.ephemeral.'),
    accountData: parseRoomEventFilter(objectAt(json, 'account_data', 'room.'), 'room.account_data.'),
  };
};

/** Parses and validates a filter definition (M_BAD_JSON when malformed). */
export const parseFilter = (json: JsonValue): Filter => {
  if (!isJsonObject(json)) throw badJson('A filter must be a JSON object');
  const eventFields = stringList(json, 'event_fields', '');
  const eventFormat = json.event_format ?? 'client';
  if (eventFormat !== 'client' && eventFormat !== 'federation') throw badJson("'event_format' must be 'client' or 'federation'");
  return {
    ...(eventFields === undefined ? {} : { eventFields }),
    eventFormat,
    presence: parseEventFilter(objectAt(json, 'presence', ''), 'presence.'),
    accountData: parseEventFilter(objectAt(json, 'account_data', ''), 'account_data.'),
    room: parseRoomFilter(objectAt(json, 'room', '')),
  };
};

/** The filter that lets everything through. */
export const EMPTY_FILTER: Filter = parseFilter({});

/** `*` matches any run of characters, as in filter.yaml's type patterns. */
const globMatches = (pattern: string, value: string): boolean => {
  if (!pattern.includes('*')) return pattern === value;
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return regex.test(value);
};

export interface FilterableEvent {
  readonly type: string;
  readonly sender?: string;
  readonly roomId?: string;
  readonly content?: JsonValue;
}

/** Whether an event passes an event filter; `not_*` lists win over the allow lists. */
export const eventMatches = (filter: EventFilter | RoomEventFilter, event: FilterableEvent): boolean => {
  if (filter.notTypes.some((pattern) => globMatches(pattern, event.type))) return false;
  if (filter.types !== undefined && !filter.types.some((pattern) => globMatches(pattern, event.type))) return false;
  if (event.sender !== undefined) {
    if (filter.notSenders.includes(event.sender)) return false;
    if (filter.senders !== undefined && !filter.senders.includes(event.sender)) return false;
  }
  if ('notRooms' in filter && event.roomId !== undefined && !roomAllowed(filter, event.roomId)) return false;
  if ('containsUrl' in filter && filter.containsUrl !== undefined) {
    const hasUrl = isJsonObject(event.content) && typeof event.content.url === 'string';
    if (hasUrl !== filter.containsUrl) return false;
  }
  return true;
};

/** Whether a room passes a room filter (or the room list of a room event filter). */
export const roomAllowed = (filter: { readonly rooms?: readonly string[]; readonly notRooms: readonly string[] }, roomId: string): boolean =>
  !filter.notRooms.includes(roomId) && (filter.rooms === undefined || filter.rooms.includes(roomId));
