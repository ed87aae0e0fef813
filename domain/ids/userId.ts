/**
 * User ids (appendices.md § User Identifiers): `@localpart:server_name`, at most 255 bytes.
 * New localparts use a-z 0-9 . _ = - / +; historical ids (any non-surrogate code point except `:`
 * and NUL, even empty) MUST still be accepted in events over federation.
 */
import { isOpaqueLocalpart, MAX_IDENTIFIER_BYTES, utf8Length } from './limits.ts';
import { err, ok, type Result } from './result.ts';
import { parseServerName, type ServerName } from './serverName.ts';

declare const userIdBrand: unique symbol;
export type UserId = string & { readonly [userIdBrand]: true };

const LOCALPART = /^[a-z0-9._=\-/+]+$/;

/** Whether a localpart may be given to a new user (registration, appservice namespaces). */
export const isValidLocalpart = (localpart: string): boolean => LOCALPART.test(localpart);

export interface ParseUserIdOptions {
  /**
   * Require the current grammar for the localpart. Off by default: ids in events and from other
   * servers may be historical. Turn it on for ids this server mints or a client asks to create.
   */
  readonly compliant?: boolean;
}

export const parseUserId = (text: string, options: ParseUserIdOptions = {}): Result<UserId> => {
  if (!text.startsWith('@')) return err(`user id ${JSON.stringify(text)} does not start with @`);
  if (utf8Length(text) > MAX_IDENTIFIER_BYTES) return err(`user id is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  const colon = text.indexOf(':');
  if (colon < 0) return err(`user id ${JSON.stringify(text)} has no server name`);
  const localpart = text.slice(1, colon);
  const valid = options.compliant ? isValidLocalpart(localpart) : isOpaqueLocalpart(localpart);
  if (!valid) return err(`user id ${JSON.stringify(text)} has an invalid localpart`);
  const server = parseServerName(text.slice(colon + 1));
  return server.ok ? ok(text as UserId) : err(`user id ${JSON.stringify(text)}: ${server.error}`);
};

export const isUserId = (text: string): text is UserId => parseUserId(text).ok;

/**
 * Whether a user id is fully compliant (localpart characters within U+0021–U+007E, not empty).
 * Non-compliant ids are accepted in events but SHOULD NOT be forwarded to clients outside them.
 */
export const isCompliantUserId = (userId: UserId): boolean => /^[\u0021-\u007e]+$/.test(userLocalpart(userId));

export const userLocalpart = (userId: UserId): string => userId.slice(1, userId.indexOf(':'));

export const userServerName = (userId: UserId): ServerName => userId.slice(userId.indexOf(':') + 1) as ServerName;

/** Builds the user id for a local user; the localpart must be valid for new registrations. */
export const makeUserId = (localpart: string, serverName: ServerName): Result<UserId> =>
  parseUserId(`@${localpart}:${serverName}`, { compliant: true });
