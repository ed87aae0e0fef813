/**
 * Server keys (server-server-api.md § Retrieving server keys): building our own signed
 * `/_matrix/key/v2/server` document, checking a remote one, and the rule that says whether a
 * remote key may verify an event's signature (rooms/fragments/v5-signing-requirements.md).
 * Pure: the time is an argument.
 */
import { decodeBase64 } from '../base64.ts';
import { signJson, verifyJsonSignature, type SigningKey } from '../events/signing.ts';
import { isServerName } from '../ids/serverName.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../json.ts';
import type { RoomVersionRules } from '../roomVersions/rules.ts';

/**
 * "Servers MUST use the lesser of `valid_until_ts` and 7 days into the future when determining if
 * a key is valid" (v5-signing-requirements.md): a key never counts for more than 7 days past the
 * moment we learnt it, whatever its server claims.
 */
export const MAX_KEY_VALIDITY_MS = 7 * 24 * 60 * 60 * 1000;

/** How long our own `/_matrix/key/v2/server` answer is valid (Synapse's default, one day). */
export const OWN_KEYS_VALIDITY_MS = 24 * 60 * 60 * 1000;

/**
 * Bounds on what a remote key document may hold: a server has a handful of keys, and everything
 * we accept is cached and served again as a notary.
 */
export const MAX_KEYS_PER_RESPONSE = 32;
export const MAX_KEY_ID_BYTES = 255;
/** Bound on a whole key document in canonical-ish JSON bytes (a real one is a few hundred). */
export const MAX_KEY_RESPONSE_BYTES = 16 * 1024;

/** A key we no longer sign with, published in `old_verify_keys` with the time it stopped counting. */
export interface OldVerifyKey {
  readonly keyId: string;
  readonly publicKeyBase64: string;
  readonly expiredTs: number;
}

/**
 * Our `/_matrix/key/v2/server` document, self-signed with the current key (keys_server.yaml):
 * `verify_keys` holds the key we sign with; `old_verify_keys` the replaced ones with `expired_ts`.
 */
export const ownServerKeys = (
  current: SigningKey, oldKeys: readonly OldVerifyKey[], validUntilTs: number,
): JsonObject => {
  const old: JsonObject = {};
  for (const key of oldKeys) {
    if (key.keyId === current.keyId) continue;
    old[key.keyId] = { key: key.publicKeyBase64, expired_ts: key.expiredTs };
  }
  return signJson({
    server_name: current.serverName,
    verify_keys: { [current.keyId]: { key: current.publicKeyBase64 } },
    old_verify_keys: old,
    valid_until_ts: validUntilTs,
  }, current);
};

/** One key of a remote server, as a verified key document told us. */
export interface RemoteVerifyKey {
  readonly serverName: string;
  readonly keyId: string;
  readonly publicKeyBase64: string;
  /**
   * Until when the key counts: the document's `valid_until_ts` capped at 7 days after we received
   * it (current keys), or its `expired_ts` (old keys).
   */
  readonly validUntilTs: number;
  /** Set for keys listed in `old_verify_keys`. */
  readonly expiredTs?: number;
}

/** A remote key document that passed `verifyServerKeys`. */
export interface VerifiedServerKeys {
  readonly serverName: string;
  /** As the server sent it, its signatures included: a notary serves it again. */
  readonly document: JsonObject;
  /** The document's own `valid_until_ts`, uncapped (what notaries compare). */
  readonly validUntilTs: number;
  readonly keys: readonly RemoteVerifyKey[];
}

export type KeysVerdict = { readonly ok: true; readonly keys: VerifiedServerKeys } | { readonly ok: false; readonly reason: string };

const fail = (reason: string): KeysVerdict => ({ ok: false, reason });

const isTimestamp = (value: JsonValue | undefined): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

const keyIdProblem = (keyId: string): string | undefined =>
  Buffer.byteLength(keyId, 'utf8') > MAX_KEY_ID_BYTES ? 'a key id is longer than 255 bytes'
    : /^[A-Za-z0-9_]+:[A-Za-z0-9_]+$/.test(keyId) ? undefined : `key id ${JSON.stringify(keyId.slice(0, 64))} is not algorithm:version`;

const isEd25519PublicKey = (value: JsonValue | undefined): value is string =>
  typeof value === 'string' && value.length <= 64 && decodeBase64(value)?.length === 32;

/**
 * Checks a remote `/_matrix/key/v2/server` document (keys.yaml) received at `receivedTs` from a
 * request for `expectedServerName`, or the same document relayed by a notary:
 * - `server_name` is the server we asked about (else any server could publish keys for another);
 * - every value is in bounds: timestamps are non-negative safe integers, key ids are
 *   `algorithm:version`, ed25519 keys are 32 bytes of unpadded Base64, at most 32 keys;
 * - every ed25519 key in `verify_keys` signed the document (as Synapse and Dendrite require: a
 *   key listed as current must prove the server holds it), and there is at least one.
 * Keys of other algorithms are skipped: nothing can verify with them.
 */
export const verifyServerKeys = (document: unknown, expectedServerName: string, receivedTs: number): KeysVerdict => {
  if (!isJsonObject(document)) return fail('the key document is not a JSON object');
  let size: number;
  try {
    size = Buffer.byteLength(JSON.stringify(document), 'utf8');
  } catch {
    return fail('the key document cannot be encoded');
  }
  if (size > MAX_KEY_RESPONSE_BYTES) return fail(`the key document is ${size} bytes, more than ${MAX_KEY_RESPONSE_BYTES}`);
  const serverName = document.server_name;
  if (typeof serverName !== 'string' || !isServerName(serverName)) return fail('server_name is missing or not a server name');
  if (serverName !== expectedServerName) {
    return fail(`server_name ${JSON.stringify(serverName)} is not the server asked about (${expectedServerName})`);
  }
  const validUntilTs = document.valid_until_ts;
  if (!isTimestamp(validUntilTs)) return fail('valid_until_ts is missing or not a timestamp');
  const verifyKeys = document.verify_keys;
  if (!isJsonObject(verifyKeys)) return fail('verify_keys is missing or not an object');
  const oldVerifyKeys = document.old_verify_keys ?? {};
  if (!isJsonObject(oldVerifyKeys)) return fail('old_verify_keys is not an object');
  if (Object.keys(verifyKeys).length + Object.keys(oldVerifyKeys).length > MAX_KEYS_PER_RESPONSE) {
    return fail(`the key document lists more than ${MAX_KEYS_PER_RESPONSE} keys`);
  }
  const cappedValidUntil = Math.min(validUntilTs, receivedTs + MAX_KEY_VALIDITY_MS);
  const keys: RemoteVerifyKey[] = [];
  for (const [keyId, entry] of Object.entries(verifyKeys)) {
    const problem = keyIdProblem(keyId);
    if (problem !== undefined) return fail(`verify_keys: ${problem}`);
    if (!isJsonObject(entry)) return fail(`verify_keys.${keyId} is not an object`);
    if (!keyId.startsWith('ed25519:')) continue;
    if (!isEd25519PublicKey(entry.key)) return fail(`verify_keys.${keyId}.key is not a 32-byte unpadded Base64 key`);
    if (!verifyJsonSignature(document, serverName, keyId, entry.key)) {
      return fail(`the document is not signed by its verify key ${keyId}`);
    }
    keys.push({ serverName, keyId, publicKeyBase64: entry.key, validUntilTs: cappedValidUntil });
  }
  if (keys.length === 0) return fail('verify_keys holds no ed25519 key');
  for (const [keyId, entry] of Object.entries(oldVerifyKeys)) {
    const problem = keyIdProblem(keyId);
    if (problem !== undefined) return fail(`old_verify_keys: ${problem}`);
    if (!isJsonObject(entry)) return fail(`old_verify_keys.${keyId} is not an object`);
    // A key both current and old is current: its signature above proves it is in use.
    if (!keyId.startsWith('ed25519:') || keys.some((key) => key.keyId === keyId)) continue;
    if (!isEd25519PublicKey(entry.key)) return fail(`old_verify_keys.${keyId}.key is not a 32-byte unpadded Base64 key`);
    if (!isTimestamp(entry.expired_ts)) return fail(`old_verify_keys.${keyId}.expired_ts is missing or not a timestamp`);
    keys.push({ serverName, keyId, publicKeyBase64: entry.key, validUntilTs: entry.expired_ts, expiredTs: entry.expired_ts });
  }
  return { ok: true, keys: { serverName, document, validUntilTs, keys } };
};

/**
 * The time a key must still be valid at to verify an event's signature: since room version 5 the
 * key's `valid_until_ts` must be at least the event's `origin_server_ts`
 * (v5-signing-requirements.md); before, `valid_until_ts` "MUST be ignored" (keys.yaml), so any
 * key the server ever published counts (0: no requirement).
 */
export const keyRequiredValidAt = (rules: Pick<RoomVersionRules, 'enforceKeyValidity'>, originServerTs: number): number =>
  (rules.enforceKeyValidity ? Math.max(0, originServerTs) : 0);

/**
 * Whether a key valid until `validUntilTs` may verify a signature that must be valid at
 * `requiredValidAt` (from `keyRequiredValidAt`). Old keys carry their `expired_ts` as their
 * validity, so "keys known to have expired prior to the event's origin_server_ts are ignored"
 * (§ Validating hashes and signatures on received events) follows from the same comparison.
 */
export const keyValidAt = (key: Pick<RemoteVerifyKey, 'validUntilTs'>, requiredValidAt: number): boolean =>
  key.validUntilTs >= requiredValidAt;

/** A configured notary (`federation.trusted_key_servers`): its name and the keys it signs with. */
export interface TrustedKeyServer {
  readonly serverName: string;
  /** Key id → unpadded Base64 ed25519 public key. */
  readonly verifyKeys: Readonly<Record<string, string>>;
}

/**
 * Checks one entry of a notary's `/_matrix/key/v2/query` answer (keys_query_response.yaml): the
 * origin's own document, self-signed as `verifyServerKeys` requires, and additionally signed by
 * the notary with one of the keys we were configured to trust it by.
 */
export const verifyNotarisedServerKeys = (
  document: unknown, expectedServerName: string, notary: TrustedKeyServer, receivedTs: number,
): KeysVerdict => {
  if (!isJsonObject(document)) return fail('the notarised key document is not a JSON object');
  const signedByNotary = Object.entries(notary.verifyKeys)
    .some(([keyId, publicKey]) => verifyJsonSignature(document, notary.serverName, keyId, publicKey));
  if (!signedByNotary) return fail(`the key document is not signed by the notary ${notary.serverName}`);
  return verifyServerKeys(document, expectedServerName, receivedTs);
};
