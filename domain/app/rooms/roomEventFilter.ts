/**
 * The RoomEventFilter of /messages and /context (client-server-api § Filtering), given as JSON in
 * the `filter` query parameter. The read model applies it to timelines in SQL; this module parses
 * it and applies it to the few state events those endpoints return.
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject } from '../../json.ts';
import type { EventFilter, StoredEvent } from '../../ports/rooms.ts';
import { invalidParam } from './common.ts';

const stringArray = (value: unknown, key: string): string[] | undefined => {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw invalidParam(`filter '${key}' must be an array of strings`);
  return value as string[];
};

/** A RoomEventFilter from the `filter` query parameter (JSON). */
export interface ParsedEventFilter {
  readonly filter?: EventFilter;
  readonly limit?: number;
  /** client-server-api § Lazy-loading room members: `state` then carries only the senders' m.room.member events. */
  readonly lazyLoadMembers?: boolean;
  readonly rooms?: readonly string[];
  readonly notRooms?: readonly string[];
}

/** RoomEventFilter `rooms`/`not_rooms` on a one-room endpoint: an excluded room has no events (Synapse). */
export const admitsRoom = (parsed: ParsedEventFilter, roomId: string): boolean =>
  (parsed.rooms === undefined || parsed.rooms.includes(roomId)) && !(parsed.notRooms ?? []).includes(roomId);

export const parseEventFilter = (text: string | undefined): ParsedEventFilter => {
  if (text === undefined || text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MatrixError('M_INVALID_PARAM', 400, "'filter' must be a JSON RoomEventFilter (stored filter ids are not supported)");
  }
  if (!isJsonObject(value)) throw invalidParam("'filter' must be a JSON object");
  const filter: { -readonly [K in keyof EventFilter]: EventFilter[K] } = {};
  const types = stringArray(value.types, 'types');
  if (types !== undefined) filter.types = types;
  const notTypes = stringArray(value.not_types, 'not_types');
  if (notTypes !== undefined) filter.notTypes = notTypes;
  const senders = stringArray(value.senders, 'senders');
  if (senders !== undefined) filter.senders = senders;
  const notSenders = stringArray(value.not_senders, 'not_senders');
  if (notSenders !== undefined) filter.notSenders = notSenders;
  if (typeof value.contains_url === 'boolean') filter.containsUrl = value.contains_url;
  const limit = typeof value.limit === 'number' && Number.isInteger(value.limit) && value.limit > 0 ? value.limit : undefined;
  const rooms = stringArray(value.rooms, 'rooms');
  const notRooms = stringArray(value.not_rooms, 'not_rooms');
  return {
    filter, ...(limit === undefined ? {} : { limit }), ...(value.lazy_load_members === true ? { lazyLoadMembers: true } : {}),
    ...(rooms === undefined ? {} : { rooms }), ...(notRooms === undefined ? {} : { notRooms }),
  };
};

/** Drops m.room.member events of users who sent none of `events`, when the filter lazy loads members. */
export const lazyMembers = (state: StoredEvent[], parsed: ParsedEventFilter, events: readonly StoredEvent[]): StoredEvent[] => {
  if (parsed.lazyLoadMembers !== true) return state;
  const senders = new Set(events.map((event) => event.sender));
  return state.filter((event) => event.type !== 'm.room.member' || (event.stateKey !== null && senders.has(event.stateKey)));
};

/** `*` in type patterns is a wildcard (§ Filtering: "A '*' can be used as a wildcard"). */
const typeMatches = (pattern: string, type: string): boolean =>
  pattern.includes('*')
    ? new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(type)
    : pattern === type;

/** Whether `event` passes the filter's types, senders and contains_url (as the read model's SQL does). */
export const matchesEventFilter = (event: StoredEvent, filter: EventFilter | undefined): boolean => {
  if (filter === undefined) return true;
  if (filter.types !== undefined && !filter.types.some((pattern) => typeMatches(pattern, event.type))) return false;
  if (filter.notTypes?.some((pattern) => typeMatches(pattern, event.type)) === true) return false;
  if (filter.senders !== undefined && !filter.senders.includes(event.sender)) return false;
  if (filter.notSenders?.includes(event.sender) === true) return false;
  if (filter.containsUrl !== undefined) {
    const content = event.pdu.content;
    const hasUrl = isJsonObject(content) && typeof content.url === 'string';
    if (hasUrl !== filter.containsUrl) return false;
  }
  return true;
};
