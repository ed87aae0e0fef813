/**
 * Room aliases (appendices.md § Room Aliases): `#localpart:server_name`, the localpart any
 * non-surrogate code points except `:` and NUL, at most 255 bytes in all.
 */
import { isOpaqueLocalpart, MAX_IDENTIFIER_BYTES, utf8Length } from './limits.ts';
import { err, ok, type Result } from './result.ts';
import { parseServerName, type ServerName } from './serverName.ts';

declare const roomAliasBrand: unique symbol;
export type RoomAlias = string & { readonly [roomAliasBrand]: true };

export const parseRoomAlias = (text: string): Result<RoomAlias> => {
  if (!text.startsWith('#')) return err(`room alias ${JSON.stringify(text)} does not start with #`);
  if (utf8Length(text) > MAX_IDENTIFIER_BYTES) return err(`room alias is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  const colon = text.indexOf(':');
  if (colon < 0) return err(`room alias ${JSON.stringify(text)} has no server name`);
  if (!isOpaqueLocalpart(text.slice(1, colon))) return err(`room alias ${JSON.stringify(text)} has an invalid localpart`);
  const server = parseServerName(text.slice(colon + 1));
  return server.ok ? ok(text as RoomAlias) : err(`room alias ${JSON.stringify(text)}: ${server.error}`);
};

export const isRoomAlias = (text: string): text is RoomAlias => parseRoomAlias(text).ok;

export const roomAliasServerName = (alias: RoomAlias): ServerName => alias.slice(alias.indexOf(':') + 1) as ServerName;
