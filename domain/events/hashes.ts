/**
 * Content and reference hashes (server-server-api.md § Signing Events). Both are sha256 over
 * canonical JSON; room v6+ events must be strictly canonical, older ones are hashed as tolerantly
 * as canonical JSON allows.
 */
import { hash } from 'node:crypto';
import { decodeBase64, encodeBase64 } from '../base64.ts';
import { canonicalJsonBytes } from '../canonicalJson.ts';
import type { JsonObject } from '../json.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import type { Pdu } from './pdu.ts';
import { redactPdu } from './redaction.ts';

/** The sha256 digest of bytes (content and reference hashes are sha256 of canonical JSON). */
export const sha256Digest = (bytes: Uint8Array): Uint8Array => {
  // One-shot hashing: no Hash object per digest.
  const digest = hash('sha256', bytes, 'buffer');
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.length);
};

const without = (object: JsonObject, keys: readonly string[]): JsonObject => {
  const copy = { ...object };
  for (const key of keys) delete copy[key];
  return copy;
};

export const strictnessOf = (rules: RoomVersionRules): { strict: boolean } => ({ strict: rules.auth.strictCanonicalJson });

/**
 * The content hash covers the whole unredacted event: `unsigned`, `signatures` and `hashes`
 * removed, canonical JSON, sha256 (§ Calculating the content hash for an event).
 * Throws CanonicalJsonError when the event has no canonical form.
 */
export const contentHash = (pdu: Pdu, rules: RoomVersionRules): Uint8Array =>
  sha256Digest(canonicalJsonBytes(without(pdu, ['unsigned', 'signatures', 'hashes']), strictnessOf(rules)));

/** The content hash as it is stored in `hashes.sha256`: unpadded Base64. */
export const contentHashBase64 = (pdu: Pdu, rules: RoomVersionRules): string => encodeBase64(contentHash(pdu, rules));

/**
 * Whether `hashes.sha256` matches the event's content. A mismatch means the event must be
 * redacted before further processing (§ Validating hashes and signatures on received events).
 */
export const hasValidContentHash = (pdu: Pdu, rules: RoomVersionRules): boolean => {
  const hashes = pdu.hashes;
  const claimed = typeof hashes === 'object' && hashes !== null && !Array.isArray(hashes) ? hashes.sha256 : undefined;
  if (typeof claimed !== 'string') return false;
  const expected = decodeBase64(claimed);
  if (expected === undefined) return false;
  let actual: Uint8Array;
  try {
    actual = contentHash(pdu, rules);
  } catch {
    return false;
  }
  return expected.length === actual.length && expected.every((byte, i) => byte === actual[i]);
};

/**
 * The reference hash covers the essential fields: the event redacted, then `signatures`,
 * `unsigned` (and a legacy top-level `age_ts`) removed, canonical JSON, sha256
 * (§ Calculating the reference hash for an event). Event ids since v3 and v12 room ids are it.
 */
export const referenceHash = (pdu: Pdu, rules: RoomVersionRules): Uint8Array =>
  sha256Digest(canonicalJsonBytes(without(redactPdu(pdu, rules.redaction), ['signatures', 'unsigned', 'age_ts']), strictnessOf(rules)));

/** The reference hash as unpadded standard Base64: the `sha256` of v1–v2 `prev_events`/`auth_events` pairs. */
export const referenceHashBase64 = (pdu: Pdu, rules: RoomVersionRules): string => encodeBase64(referenceHash(pdu, rules));
