/**
 * Event ids (appendices.md § Event IDs): `$opaque_id`, at most 255 bytes. Room v1–v2 ids are
 * `$opaque:domain` chosen by the origin; since v3 they are `$` + the Base64 of the event's
 * reference hash (standard alphabet in v3, URL-safe since v4: rooms/fragments/v4-event-ids.md).
 */
import type { EventIdFormat } from '../roomVersions/index.ts';
import { isOpaqueLocalpart, MAX_IDENTIFIER_BYTES, utf8Length } from './limits.ts';
import { err, ok, type Result } from './result.ts';
import { parseServerName } from './serverName.ts';

declare const eventIdBrand: unique symbol;
export type EventId = string & { readonly [eventIdBrand]: true };

/** A sha256 is 32 bytes: 43 characters of unpadded Base64. */
const STANDARD_HASH = /^[A-Za-z0-9+/]{43}$/;
const URL_SAFE_HASH = /^[A-Za-z0-9\-_]{43}$/;

export const isUrlSafeHashId = (opaque: string): boolean => URL_SAFE_HASH.test(opaque);

/**
 * Parses an event id. Without a format any `$`-prefixed id within the limits is accepted (clients
 * treat them as opaque); with the room version's format the id must have that shape.
 */
export const parseEventId = (text: string, format?: EventIdFormat): Result<EventId> => {
  if (!text.startsWith('$')) return err(`event id ${JSON.stringify(text)} does not start with $`);
  if (utf8Length(text) > MAX_IDENTIFIER_BYTES) return err(`event id is longer than ${MAX_IDENTIFIER_BYTES} bytes`);
  const opaque = text.slice(1);
  if (!opaque.isWellFormed() || opaque.includes('\u0000')) return err(`event id ${JSON.stringify(text)} has invalid characters`);
  switch (format) {
    case undefined:
      if (opaque === '') return err('event id is empty');
      return ok(text as EventId);
    case 'originChosen': {
      const colon = opaque.indexOf(':');
      if (colon < 0 || !isOpaqueLocalpart(opaque.slice(0, colon))) return err(`event id ${JSON.stringify(text)} is not $opaque:domain`);
      const server = parseServerName(opaque.slice(colon + 1));
      return server.ok ? ok(text as EventId) : err(`event id ${JSON.stringify(text)}: ${server.error}`);
    }
    case 'referenceHashBase64':
      return STANDARD_HASH.test(opaque) ? ok(text as EventId) : err(`event id ${JSON.stringify(text)} is not a reference hash`);
    case 'referenceHashUrlSafeBase64':
      return URL_SAFE_HASH.test(opaque) ? ok(text as EventId) : err(`event id ${JSON.stringify(text)} is not a URL-safe reference hash`);
  }
};

export const isEventId = (text: string, format?: EventIdFormat): text is EventId => parseEventId(text, format).ok;
