/**
 * Signing JSON and checking signatures (appendices.md § Signing JSON, § Checking for a Signature)
 * with ed25519 through node:crypto. KeyObjects are cached: building one per signature would cost
 * more than the signature itself.
 */
import { BoundedMap } from '../boundedMap.ts';
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { decodeBase64, encodeBase64 } from '../base64.ts';
import { canonicalJsonBytes, CanonicalJsonError, type CanonicalJsonOptions } from '../canonicalJson.ts';
import { isJsonObject, type JsonObject } from '../json.ts';

/** A server's ed25519 signing key. `keyId` includes the algorithm, e.g. `ed25519:a_bcDE`. */
export interface SigningKey {
  readonly serverName: string;
  readonly keyId: string;
  /** The 32-byte ed25519 seed (the private key). */
  readonly seed: Uint8Array;
  /** The public key as unpadded Base64, as published in `/_matrix/key/v2/server`. */
  readonly publicKeyBase64: string;
}

// DER prefixes that wrap a raw 32-byte ed25519 seed (PKCS#8) or public key (SPKI), RFC 8410.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const privateKeys = new WeakMap<SigningKey, KeyObject>();

/** Builds a signing key from its 32-byte seed, deriving the public key. */
export const signingKeyFromSeed = (serverName: string, keyId: string, seed: Uint8Array): SigningKey => {
  if (seed.length !== 32) throw new Error(`an ed25519 seed is 32 bytes, got ${seed.length}`);
  if (!keyId.startsWith('ed25519:')) throw new Error(`key id ${keyId} is not an ed25519 key id`);
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const key: SigningKey = Object.freeze({
    serverName,
    keyId,
    seed: new Uint8Array(seed),
    publicKeyBase64: encodeBase64(new Uint8Array(spki.subarray(spki.length - 32))),
  });
  privateKeys.set(key, privateKey);
  return key;
};

const privateKeyOf = (key: SigningKey): KeyObject => {
  let cached = privateKeys.get(key);
  if (cached === undefined) {
    cached = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, key.seed]), format: 'der', type: 'pkcs8' });
    privateKeys.set(key, cached);
  }
  return cached;
};

/** Public keys seen recently, by their Base64; bounded so remote keys cannot grow it forever. */
const MAX_CACHED_PUBLIC_KEYS = 4096;
const publicKeys = new BoundedMap<string, KeyObject>(MAX_CACHED_PUBLIC_KEYS);

const publicKeyOf = (publicKeyBase64: string): KeyObject | undefined => {
  const cached = publicKeys.get(publicKeyBase64);
  if (cached !== undefined) return cached;
  const raw = decodeBase64(publicKeyBase64);
  if (raw === undefined || raw.length !== 32) return undefined;
  const keyObject = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, raw]), format: 'der', type: 'spki' });
  publicKeys.set(publicKeyBase64, keyObject);
  return keyObject;
};

const signedBytes = (object: JsonObject, options: CanonicalJsonOptions): Uint8Array => {
  const { signatures: _signatures, unsigned: _unsigned, ...rest } = object;
  return canonicalJsonBytes(rest, options);
};

/**
 * The unpadded Base64 ed25519 signature of bytes the caller already encoded: the canonical JSON
 * of an object without `signatures` and `unsigned` (appendices.md § Signing JSON, steps 1–3).
 */
export const signatureOfBytes = (canonicalBytes: Uint8Array, key: SigningKey): string =>
  encodeBase64(new Uint8Array(sign(null, canonicalBytes, privateKeyOf(key))));

/** The unpadded Base64 ed25519 signature of an object's canonical form without `signatures`/`unsigned`. */
export const signatureOf = (object: JsonObject, key: SigningKey, options: CanonicalJsonOptions = { strict: true }): string =>
  signatureOfBytes(signedBytes(object, options), key);

/**
 * Signs a JSON object: returns a copy with the signature added under
 * `signatures[serverName][keyId]`, other signatures (and `unsigned`) kept.
 * Throws CanonicalJsonError when the object has no canonical form.
 */
export const signJson = <T extends JsonObject>(object: T, key: SigningKey, options: CanonicalJsonOptions = { strict: true }): T => {
  const signature = signatureOf(object, key, options);
  const existing = isJsonObject(object.signatures) ? object.signatures : {};
  const ours = isJsonObject(existing[key.serverName]) ? (existing[key.serverName] as JsonObject) : {};
  return { ...object, signatures: { ...existing, [key.serverName]: { ...ours, [key.keyId]: signature } } };
};

/** The signatures an object carries from one server, by key id (empty when there are none). */
export const signaturesFrom = (object: JsonObject, serverName: string): ReadonlyMap<string, string> => {
  const signatures = object.signatures;
  const fromServer = isJsonObject(signatures) ? signatures[serverName] : undefined;
  const found = new Map<string, string>();
  if (isJsonObject(fromServer)) {
    for (const [keyId, value] of Object.entries(fromServer)) if (typeof value === 'string') found.set(keyId, value);
  }
  return found;
};

/**
 * Checks one signature (appendices.md § Checking for a Signature, steps 4–7) against a public key
 * given as unpadded Base64. False when the signature is missing, undecodable or wrong, when the
 * key is not ed25519, or when the object has no canonical form.
 */
export const verifyJsonSignature = (
  object: JsonObject,
  serverName: string,
  keyId: string,
  publicKeyBase64: string,
  options: CanonicalJsonOptions = { strict: true },
): boolean => {
  if (!keyId.startsWith('ed25519:')) return false;
  const signatureText = signaturesFrom(object, serverName).get(keyId);
  if (signatureText === undefined) return false;
  const signature = decodeBase64(signatureText);
  if (signature === undefined || signature.length !== 64) return false;
  const publicKey = publicKeyOf(publicKeyBase64);
  if (publicKey === undefined) return false;
  let bytes: Uint8Array;
  try {
    bytes = signedBytes(object, options);
  } catch (error) {
    if (error instanceof CanonicalJsonError) return false;
    throw error;
  }
  return verify(null, bytes, publicKey, signature);
};
