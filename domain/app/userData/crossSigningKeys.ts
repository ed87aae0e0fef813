/**
 * Cross-signing key objects (cross_signing_key.yaml) and the signatures kept beside them: checks
 * of uploaded keys, and the merge of stored signatures into the keys /keys/query serves.
 */
import { canonicalJson } from '../../canonicalJson.ts';
import { verifyJsonSignature } from '../../events/index.ts';
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../json.ts';
import type { CrossSigningKeyType, CrossSigningSignature } from '../../ports/userData.ts';
import { badJson, invalidParam } from './errors.ts';

export const invalidSignature = (message: string): MatrixError => new MatrixError('M_INVALID_SIGNATURE', 400, message);

/** A cross-signing key's one public key: `ed25519:<key>` and the unpadded Base64 key. */
export interface PublicKey {
  readonly keyId: string;
  readonly key: string;
}

/** The public key of a stored or checked key object (undefined when it has none). */
export const publicKeyOf = (key: JsonObject): PublicKey | undefined => {
  if (!isJsonObject(key.keys)) return undefined;
  const entries = Object.entries(key.keys);
  if (entries.length !== 1) return undefined;
  const [keyId, value] = entries[0]!;
  return keyId.startsWith('ed25519:') && typeof value === 'string' ? { keyId, key: value } : undefined;
};

/**
 * Checks an uploaded cross-signing key: it is the requester's, for `usage`, with exactly one
 * ed25519 public key (cross_signing_key.yaml: "exactly one property").
 */
export const checkCrossSigningKey = (value: JsonValue, userId: string, usage: CrossSigningKeyType, name: string): JsonObject => {
  if (!isJsonObject(value)) throw badJson(`'${name}' must be an object`);
  if (value.user_id !== userId) throw invalidParam(`'${name}.user_id' must be the requester's user id`);
  if (!Array.isArray(value.usage) || !value.usage.every((u) => typeof u === 'string') || !value.usage.includes(usage)) {
    throw invalidParam(`'${name}.usage' must include ${JSON.stringify(usage)}`);
  }
  if (!isJsonObject(value.keys) || Object.keys(value.keys).length !== 1) {
    throw invalidParam(`'${name}.keys' must hold exactly one key`);
  }
  if (publicKeyOf(value) === undefined) throw invalidParam(`'${name}.keys' must hold one ed25519 key as a string`);
  if (value.signatures !== undefined && !isJsonObject(value.signatures)) throw badJson(`'${name}.signatures' must be an object`);
  return value;
};

/** Whether `object` carries a valid signature by `signer` of user `userId`. */
export const signedBy = (object: JsonObject, userId: string, signer: PublicKey): boolean =>
  verifyJsonSignature(object, userId, signer.keyId, signer.key, { strict: false });

/** The signed part of a key object: what a signature covers (appendices.md § Signing JSON). */
const signedPart = (object: JsonObject): string | undefined => {
  const { signatures: _signatures, unsigned: _unsigned, ...rest } = object;
  try {
    return canonicalJson(rest, { strict: false });
  } catch {
    return undefined;
  }
};

/** Whether two key objects are the same key, signatures and unsigned data aside. */
export const sameSignedPart = (a: JsonObject, b: JsonObject): boolean => {
  const left = signedPart(a);
  return left !== undefined && left === signedPart(b);
};

/** Whether two key objects are identical, signatures included. */
export const sameKeyObject = (a: JsonObject, b: JsonObject): boolean => {
  try {
    return canonicalJson(a, { strict: false }) === canonicalJson(b, { strict: false });
  } catch {
    return false;
  }
};

/** `signatures[user][keyId]` of an object, as a list (for signatures newly uploaded on it). */
export const signaturesIn = (object: JsonObject): { userId: string; keyId: string; signature: string }[] => {
  const found: { userId: string; keyId: string; signature: string }[] = [];
  if (!isJsonObject(object.signatures)) return found;
  for (const [userId, byKey] of Object.entries(object.signatures)) {
    if (!isJsonObject(byKey)) continue;
    for (const [keyId, signature] of Object.entries(byKey)) {
      if (typeof signature === 'string') found.push({ userId, keyId, signature });
    }
  }
  return found;
};

/** A copy of `object` with the stored signatures on `targetKeyId` added under `signatures`. */
export const withSignatures = (object: JsonObject, targetKeyId: string, stored: readonly CrossSigningSignature[]): JsonObject => {
  const mine = stored.filter((s) => s.targetKeyId === targetKeyId);
  if (mine.length === 0) return object;
  const signatures: JsonObject = isJsonObject(object.signatures) ? { ...object.signatures } : {};
  for (const s of mine) {
    const ofSigner = isJsonObject(signatures[s.signerUserId]) ? (signatures[s.signerUserId] as JsonObject) : {};
    signatures[s.signerUserId] = { ...ofSigner, [s.signerKeyId]: s.signature };
  }
  return { ...object, signatures };
};
