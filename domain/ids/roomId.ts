/**
 * Room ids (appendices.md § Room IDs): `!opaque:domain` up to room v11; since v12 the create
 * event's id with `!` for `$` (`!` + URL-safe Base64 of its reference hash, no domain).
 * At most 255 bytes.
 */
import { isUrlSafeHashId, type EventId } from './eventId.ts';
import { isOpaqueLocalpart, MAX_IDENTIFIER_BYTES, utf8Length } from './limits.ts';
import { err, ok, type Result } from './result.ts';
import { parseServerName, type ServerName } from './serverName.ts';

declare const roomIdBrand: unique symbol;
export type RoomId = string & { readonly [roomIdBrand]: true };

/** `domain`: `!opaque:server` (v1–v11); `hash`: `!` + create event reference hash (v12+). */
export type RoomIdForm = 'domain' | 'hash';

export const parseRoomId = (text: string, form?: RoomIdForm): Result<RoomId> => {
  if (!text.startsWith('!')) return err(`room id ${JSON.stringify(text)} does not start with !`);
  if (utf8Length(text) > MAX_IDENTIFIER_BYTES) return err(`room id is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  const opaque = text.slice(1);
  const colon = opaque.indexOf(':');
  const actual: RoomIdForm = colon < 0 ? 'hash' : 'domain';
  if (form !== undefined && form !== actual) {
    return err(`room id ${JSON.stringify(text)} is not in the ${form === 'hash' ? '!hash' : '!opaque:domain'} form`);
  }
  if (actual === 'hash') {
    return isUrlSafeHashId(opaque) ? ok(text as RoomId) : err(`room id ${JSON.stringify(text)} is neither !opaque:domain nor !hash`);
  }
  if (!isOpaqueLocalpart(opaque.slice(0, colon))) return err(`room id ${JSON.stringify(text)} has an invalid localpart`);
  const server = parseServerName(opaque.slice(colon + 1));
  return server.ok ? ok(text as RoomId) : err(`room id ${JSON.stringify(text)}: ${server.error}`);
};

export const isRoomId = (text: string, form?: RoomIdForm): text is RoomId => parseRoomId(text, form).ok;

/** The server that created the room, for `!opaque:domain` ids; v12 ids name no server. */
export const roomIdServerName = (roomId: RoomId): ServerName | undefined => {
  const colon = roomId.indexOf(':');
  return colon < 0 ? undefined : (roomId.slice(colon + 1) as ServerName);
};

/** Since v12 the room id is the create event's id with the `!` sigil. */
export const roomIdFromCreateEventId = (createEventId: EventId): RoomId => `!${createEventId.slice(1)}` as RoomId;

/** The create event id a v12 room id stands for (auth rule 2: the room id names its create event). */
export const createEventIdOfRoom = (roomId: RoomId): EventId | undefined =>
  roomId.includes(':') ? undefined : (`$${roomId.slice(1)}` as EventId);
