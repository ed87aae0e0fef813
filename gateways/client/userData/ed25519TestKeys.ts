/**
 * Real ed25519 key pairs for the cross-signing e2e tests, made and used with node:crypto alone
 * (not the server's own signing code), so a signature the server accepts is one a client made.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { canonicalJson, type JsonObject } from '../../../domain/index.ts';

export interface TestKeyPair {
  /** Unpadded standard Base64, as Matrix writes keys. */
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

const unpadded = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');

export const generateTestKeyPair = (): TestKeyPair => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  return { publicKey: unpadded(Buffer.from(jwk.x!, 'base64url')), privateKey };
};

/** Adds `signatures[userId][keyId]` over the canonical JSON without `signatures`/`unsigned` (appendices § Signing JSON). */
export const signAs = <T extends JsonObject>(object: T, userId: string, keyId: string, pair: TestKeyPair): T => {
  const { signatures, unsigned: _unsigned, ...rest } = object;
  const signature = unpadded(sign(null, Buffer.from(canonicalJson(rest, { strict: true }), 'utf8'), pair.privateKey));
  const existing = (signatures ?? {}) as Record<string, Record<string, string>>;
  return { ...object, signatures: { ...existing, [userId]: { ...existing[userId], [keyId]: signature } } };
};

/** A cross-signing key object (cross_signing_key.yaml) for `pair`, unsigned. */
export const crossSigningKey = (userId: string, usage: string, pair: TestKeyPair): JsonObject => ({
  user_id: userId, usage: [usage], keys: { [`ed25519:${pair.publicKey}`]: pair.publicKey },
});

/** Device keys (device_keys.yaml) self-signed with the device's ed25519 key, as /keys/upload takes them. */
export const deviceKeys = (userId: string, deviceId: string, pair: TestKeyPair): JsonObject =>
  signAs({
    user_id: userId, device_id: deviceId,
    algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
    keys: { [`curve25519:${deviceId}`]: 'Y3VydmUyNTUxOWtleQ', [`ed25519:${deviceId}`]: pair.publicKey },
  }, userId, `ed25519:${deviceId}`, pair);
