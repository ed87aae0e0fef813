/**
 * Request authentication between homeservers (server-server-api.md § Request Authentication): the
 * request's method, target, origin, destination and body are wrapped in a JSON object, signed with
 * the sending server's ed25519 key (appendices.md § Signing JSON), and the signature travels in an
 * `Authorization: X-Matrix origin=…,destination=…,key=…,sig=…` header.
 *
 * Pure: signing and checking go through domain/events' JSON signing; fetching the sender's public
 * key is the caller's (verifyXMatrixRequest takes a lookup).
 */
import { isServerName, type Result, err, ok } from '../ids/index.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import { signatureOf, verifyJsonSignature, type SigningKey } from '../events/signing.ts';
import { CanonicalJsonError, type CanonicalJsonOptions } from '../canonicalJson.ts';

/** What a request signature covers (step 1 of § Request Authentication). */
export interface FederationRequestTarget {
  /** Upper-case HTTP method, e.g. `PUT`. */
  readonly method: string;
  /** The request target as sent: path from `/_matrix/…` with `?` and the query, if any. */
  readonly uri: string;
  /** The sending server's name (before any delegation, as the spec says). */
  readonly origin: string;
  /** The receiving server's name (before any delegation). */
  readonly destination: string;
  /** The JSON-parsed request body; absent when the request has none. */
  readonly content?: JsonValue;
}

/**
 * Request content is not an event: no room version's number rules apply to it, so floats a remote
 * puts in a body (an EDU's custom field) are encoded rather than refusing the whole request.
 */
const REQUEST_CANONICAL_JSON: CanonicalJsonOptions = { strict: false };

/** The JSON object whose signature authenticates a request (without its `signatures`). */
export const requestJson = (target: FederationRequestTarget): JsonObject => {
  const json: JsonObject = { method: target.method, uri: target.uri, origin: target.origin, destination: target.destination };
  if (target.content !== undefined) json.content = target.content;
  return json;
};

/**
 * Renders one X-Matrix credential. The spec asks senders, for older servers' sake, to use one space
 * after the scheme, lower-case names, no whitespace around the commas and no backslashes: server
 * names, key ids and unpadded Base64 never hold a `"` or `\`, so quoting needs no escape.
 */
export const renderXMatrixHeader = (params: { origin: string; destination: string; key: string; sig: string }): string => {
  for (const value of Object.values(params)) {
    if (/["\\\r\n]/.test(value)) throw new Error(`X-Matrix parameter ${JSON.stringify(value)} cannot be sent unescaped`);
  }
  return `X-Matrix origin="${params.origin}",destination="${params.destination}",key="${params.key}",sig="${params.sig}"`;
};

/**
 * The `Authorization` header value for a request signed with our key (steps 1 and 2). Throws
 * CanonicalJsonError when the content has no canonical form (a non-finite number).
 */
export const signXMatrixRequest = (target: Omit<FederationRequestTarget, 'origin'>, key: SigningKey): string => {
  const json = requestJson({ ...target, origin: key.serverName });
  const sig = signatureOf(json, key, REQUEST_CANONICAL_JSON);
  return renderXMatrixHeader({ origin: key.serverName, destination: target.destination, key: key.keyId, sig });
};

/** One parsed X-Matrix credential. */
export interface XMatrixCredential {
  readonly origin: string;
  /** Absent from servers older than v1.3, which recipients should still accept. */
  readonly destination: string | undefined;
  readonly key: string;
  readonly sig: string;
}

/**
 * Bounds on what is parsed. Server names and key ids are identifiers (255 bytes; a port adds six
 * characters); an ed25519 signature is 86 Base64 characters. Anything much longer is not a sane
 * credential, and parsing it would only cost time.
 */
export const X_MATRIX_LIMITS = {
  headerChars: 4096,
  valueChars: 512,
  params: 16,
  /** Authorization headers (one signature each) considered on one request. */
  headers: 8,
} as const;

// RFC 9110 § 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
// An unquoted value: a token, plus `:` (which the spec asks recipients to accept for older
// senders' key ids) and `/`, `=` (unpadded or padded Base64 signatures sent unquoted).
const UNQUOTED_VALUE_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/=]/;
// RFC 9110 § 5.6.4: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text; quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
const isQdtext = (code: number): boolean => code === 0x09 || code === 0x20 || code === 0x21 || (code >= 0x23 && code <= 0x5b) || (code >= 0x5d && code <= 0x7e) || (code >= 0x80 && code <= 0xff);
const isQuotedPairChar = (code: number): boolean => code === 0x09 || (code >= 0x20 && code <= 0x7e) || (code >= 0x80 && code <= 0xff);

/**
 * Parses an `Authorization` header value with the X-Matrix scheme (§ Request Authentication, after
 * RFC 9110 § 11.4): the scheme (case-insensitive), one or more spaces, then comma-separated
 * `name=value` pairs with optional spaces and tabs around the commas and the `=`; names are
 * case-insensitive; values are tokens or quoted strings whose backslash pairs are unescaped.
 * Unknown parameters are ignored; a repeated one is refused (which one would count is ambiguous).
 * `origin` must be a valid server name.
 */
export const parseXMatrixHeader = (header: string): Result<XMatrixCredential> => {
  if (header.length > X_MATRIX_LIMITS.headerChars) return err('Authorization header too long');
  const scheme = /^X-Matrix +/i.exec(header);
  if (scheme === null) return err('Authorization header is not X-Matrix');
  const params = new Map<string, string>();
  let i = scheme[0].length;
  const skipWhitespace = () => {
    while (i < header.length && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  for (;;) {
    skipWhitespace();
    // RFC 9110 § 5.6.1: recipients accept empty list elements.
    if (header[i] === ',') {
      i++;
      continue;
    }
    if (i >= header.length) break;
    const nameStart = i;
    while (i < header.length && TCHAR.test(header[i]!)) i++;
    if (i === nameStart) return err(`unexpected character at ${i} in Authorization header`);
    const name = header.slice(nameStart, i).toLowerCase();
    skipWhitespace();
    if (header[i] !== '=') return err(`parameter ${name} has no value`);
    i++;
    skipWhitespace();
    let value = '';
    if (header[i] === '"') {
      i++;
      let closed = false;
      while (i < header.length) {
        const code = header.charCodeAt(i);
        if (code === 0x22) {
          closed = true;
          i++;
          break;
        }
        if (code === 0x5c) {
          const next = header.charCodeAt(i + 1);
          if (Number.isNaN(next) || !isQuotedPairChar(next)) return err(`bad escape in parameter ${name}`);
          value += header[i + 1];
          i += 2;
        } else if (isQdtext(code)) {
          value += header[i];
          i++;
        } else return err(`bad character in parameter ${name}`);
        if (value.length > X_MATRIX_LIMITS.valueChars) return err(`parameter ${name} too long`);
      }
      if (!closed) return err(`unterminated quoted value for ${name}`);
    } else {
      const valueStart = i;
      while (i < header.length && UNQUOTED_VALUE_CHAR.test(header[i]!)) i++;
      value = header.slice(valueStart, i);
      if (value === '') return err(`parameter ${name} has an empty value`);
      if (value.length > X_MATRIX_LIMITS.valueChars) return err(`parameter ${name} too long`);
    }
    if (params.has(name)) return err(`parameter ${name} given twice`);
    if (params.size >= X_MATRIX_LIMITS.params) return err('too many parameters in Authorization header');
    params.set(name, value);
    skipWhitespace();
    if (i < header.length && header[i] !== ',') return err(`unexpected character at ${i} in Authorization header`);
  }
  const origin = params.get('origin');
  const key = params.get('key');
  const sig = params.get('sig');
  if (origin === undefined || key === undefined || sig === undefined) return err('Authorization header lacks origin, key or sig');
  if (!isServerName(origin)) return err(`origin ${JSON.stringify(origin)} is not a valid server name`);
  return ok({ origin, destination: params.get('destination'), key, sig });
};

/** Why a request is not authenticated; the gateway maps each to its HTTP answer. */
export type XMatrixFailure =
  | { readonly kind: 'missing'; readonly message: string }
  | { readonly kind: 'malformed'; readonly message: string }
  | { readonly kind: 'wrongDestination'; readonly message: string }
  | { readonly kind: 'unknownKey'; readonly message: string }
  | { readonly kind: 'badSignature'; readonly message: string };

/** The credentials of one request, checked for shape and destination, awaiting the sender's keys. */
export interface XMatrixClaim {
  readonly origin: string;
  /** The destination the sender named (one of ours), if it named one. */
  readonly destination: string | undefined;
  /** Signature per key id, every one from `origin`. */
  readonly signatures: ReadonlyMap<string, string>;
}

/**
 * Reads a request's Authorization headers (several headers are several signatures, as Synapse
 * reads them) into one claim. Headers of other schemes are ignored. Every X-Matrix header must
 * name the same origin and, when it names one, a destination that is one of ours: "If this
 * property is included, but the value does not match the receiving server's name, the receiving
 * server must deny the request with an HTTP status code 401 Unauthorized."
 */
export const readXMatrixClaim = (headers: readonly string[], isOurServerName: (name: string) => boolean): Result<XMatrixClaim, XMatrixFailure> => {
  const credentials: XMatrixCredential[] = [];
  for (const header of headers) {
    if (!/^X-Matrix(?: |$)/i.test(header)) continue;
    if (credentials.length >= X_MATRIX_LIMITS.headers) return err({ kind: 'malformed', message: 'Too many Authorization headers' });
    const parsed = parseXMatrixHeader(header);
    if (!parsed.ok) return err({ kind: 'malformed', message: `Malformed Authorization header: ${parsed.error}` });
    credentials.push(parsed.value);
  }
  if (credentials.length === 0) return err({ kind: 'missing', message: 'Missing Authorization headers' });
  const origin = credentials[0]!.origin;
  let destination: string | undefined;
  const signatures = new Map<string, string>();
  for (const credential of credentials) {
    if (credential.origin !== origin) return err({ kind: 'malformed', message: 'Authorization headers name different origins' });
    if (credential.destination !== undefined) {
      if (!isOurServerName(credential.destination)) return err({ kind: 'wrongDestination', message: 'Destination mismatch in auth header' });
      // Each signature covers one JSON object, so every header must sign the same destination.
      if (destination !== undefined && destination !== credential.destination) {
        return err({ kind: 'malformed', message: 'Authorization headers name different destinations' });
      }
      destination = credential.destination;
    }
    if (signatures.has(credential.key)) return err({ kind: 'malformed', message: `Key ${credential.key} signs twice` });
    signatures.set(credential.key, credential.sig);
  }
  return ok({ origin, destination, signatures });
};

/**
 * Checks a claim's signatures over the request (appendices.md § Checking for a Signature), given
 * the origin's public keys by key id (undefined: the key is not known to be the origin's). As
 * Synapse does, keys nobody can vouch for are skipped, every known key must verify, and at least
 * one must: a request whose body or target differs from what was signed fails here.
 */
export const checkXMatrixClaim = (
  claim: XMatrixClaim,
  request: Omit<FederationRequestTarget, 'origin' | 'destination'>,
  ourServerName: string,
  publicKeys: ReadonlyMap<string, string | undefined>,
): Result<string, XMatrixFailure> => {
  const signed: JsonObject = {
    // A sender older than v1.3 names no destination in the header but signed ours.
    ...requestJson({ ...request, origin: claim.origin, destination: claim.destination ?? ourServerName }),
    signatures: { [claim.origin]: Object.fromEntries(claim.signatures) },
  };
  let checked = 0;
  for (const keyId of claim.signatures.keys()) {
    const publicKey = publicKeys.get(keyId);
    if (publicKey === undefined) continue;
    let valid: boolean;
    try {
      valid = verifyJsonSignature(signed, claim.origin, keyId, publicKey, REQUEST_CANONICAL_JSON);
    } catch (error) {
      if (!(error instanceof CanonicalJsonError)) throw error;
      valid = false;
    }
    if (!valid) return err({ kind: 'badSignature', message: `Invalid signature for server ${claim.origin} with key ${keyId}` });
    checked += 1;
  }
  if (checked === 0) {
    return err({ kind: 'unknownKey', message: `Failed to find any key to satisfy the signature of ${claim.origin} (keys ${[...claim.signatures.keys()].join(', ')})` });
  }
  return ok(claim.origin);
};

/** Fetches a server's public key (unpadded Base64) by key id; undefined when it is not known. */
export type FederationKeyLookup = (serverName: string, keyId: string) => Promise<string | undefined>;

export interface XMatrixRequest {
  /** Every Authorization header value the request carries, in order. */
  readonly authorization: readonly string[];
  readonly method: string;
  readonly uri: string;
  readonly content?: JsonValue;
}

/**
 * The whole check of an inbound request: parse the headers, check the destination, look up the
 * origin's keys, verify. Resolves to the authenticated origin.
 */
export const verifyXMatrixRequest = async (
  request: XMatrixRequest,
  ourServerName: string,
  lookup: FederationKeyLookup,
  isOurServerName: (name: string) => boolean = (name) => name === ourServerName,
): Promise<Result<string, XMatrixFailure>> => {
  const claim = readXMatrixClaim(request.authorization, isOurServerName);
  if (!claim.ok) return claim;
  const keys = new Map<string, string | undefined>();
  for (const keyId of claim.value.signatures.keys()) {
    // Only ed25519 keys exist in Matrix today; no lookup for an algorithm nobody publishes.
    keys.set(keyId, keyId.startsWith('ed25519:') ? await lookup(claim.value.origin, keyId) : undefined);
  }
  const { authorization: _authorization, ...target } = request;
  return checkXMatrixClaim(claim.value, target, ourServerName, keys);
};
