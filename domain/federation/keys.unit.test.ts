// Server key documents and the key validity rule (server-server-api.md § Retrieving server keys,
// rooms/fragments/v5-signing-requirements.md).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signJson, signingKeyFromSeed, type SigningKey } from '../events/signing.ts';
import type { JsonObject } from '../json.ts';
import { ROOM_VERSIONS } from '../roomVersions/rules.ts';
import {
  keyRequiredValidAt, keyValidAt, MAX_KEY_VALIDITY_MS, MAX_KEYS_PER_RESPONSE, ownServerKeys, verifyNotarisedServerKeys,
  verifyServerKeys,
} from './keys.ts';

const NOW = 1_700_000_000_000;
const DAY = 24 * 60 * 60 * 1000;
const keyOf = (serverName: string, version: string): SigningKey => signingKeyFromSeed(serverName, `ed25519:${version}`, randomBytes(32));

const remote = keyOf('remote.test', 'cur');
const retired = keyOf('remote.test', 'old');

/** A document as the remote server would sign it, with `change` applied before signing. */
const signedDocument = (change: (document: JsonObject) => JsonObject = (d) => d, key: SigningKey = remote): JsonObject =>
  signJson(change({
    server_name: 'remote.test',
    verify_keys: { [key.keyId]: { key: key.publicKeyBase64 } },
    old_verify_keys: { [retired.keyId]: { key: retired.publicKeyBase64, expired_ts: NOW - DAY } },
    valid_until_ts: NOW + DAY,
  }), key);

const reasonOf = (document: unknown, serverName = 'remote.test'): string => {
  const verdict = verifyServerKeys(document, serverName, NOW);
  return verdict.ok ? 'ok' : verdict.reason;
};

describe('our key document', () => {
  it('is self-signed, lists the current key and the old ones with expired_ts, and verifies', () => {
    const document = ownServerKeys(remote, [{ keyId: retired.keyId, publicKeyBase64: retired.publicKeyBase64, expiredTs: NOW - 5 }], NOW + DAY);
    expect(document).toMatchObject({
      server_name: 'remote.test',
      verify_keys: { [remote.keyId]: { key: remote.publicKeyBase64 } },
      old_verify_keys: { [retired.keyId]: { key: retired.publicKeyBase64, expired_ts: NOW - 5 } },
      valid_until_ts: NOW + DAY,
    });
    const verdict = verifyServerKeys(document, 'remote.test', NOW);
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.keys.keys).toEqual([
      { serverName: 'remote.test', keyId: remote.keyId, publicKeyBase64: remote.publicKeyBase64, validUntilTs: NOW + DAY },
      { serverName: 'remote.test', keyId: retired.keyId, publicKeyBase64: retired.publicKeyBase64, validUntilTs: NOW - 5, expiredTs: NOW - 5 },
    ]);
  });

  it('never lists the current key as old', () => {
    const document = ownServerKeys(remote, [{ keyId: remote.keyId, publicKeyBase64: remote.publicKeyBase64, expiredTs: 1 }], NOW);
    expect(document.old_verify_keys).toEqual({});
  });
});

describe('checking a remote key document', () => {
  it('accepts a well-formed self-signed document', () => {
    expect(reasonOf(signedDocument())).toBe('ok');
  });

  it('refuses a document for another server than the one asked about', () => {
    expect(reasonOf(signedDocument(), 'other.test')).toMatch(/not the server asked about/);
  });

  it('refuses a document whose signature does not match (tampered after signing)', () => {
    const document = signedDocument();
    expect(reasonOf({ ...document, valid_until_ts: NOW + 365 * DAY })).toMatch(/not signed by its verify key/);
  });

  it('refuses a verify key that did not sign the document', () => {
    const unsigning = keyOf('remote.test', 'second');
    const document = signedDocument((d) => ({
      ...d, verify_keys: { [remote.keyId]: { key: remote.publicKeyBase64 }, [unsigning.keyId]: { key: unsigning.publicKeyBase64 } },
    }));
    expect(reasonOf(document)).toMatch(/ed25519:second/);
  });

  it('refuses a document signed by a key it does not list', () => {
    const document = signJson({ ...signedDocument(), signatures: {} }, retired);
    expect(reasonOf(document)).toMatch(/not signed by its verify key/);
  });

  it('refuses out-of-bound values', () => {
    expect(reasonOf([])).toMatch(/not a JSON object/);
    expect(reasonOf(signedDocument((d) => ({ ...d, valid_until_ts: -1 })))).toMatch(/valid_until_ts/);
    expect(reasonOf(signedDocument((d) => ({ ...d, valid_until_ts: '1' })))).toMatch(/valid_until_ts/);
    expect(reasonOf(signedDocument((d) => ({ ...d, server_name: 'not a name' })))).toMatch(/server_name/);
    expect(reasonOf(signedDocument((d) => ({ ...d, verify_keys: { [remote.keyId]: { key: 'c2hvcnQ' } } })))).toMatch(/32-byte/);
    expect(reasonOf(signedDocument((d) => ({ ...d, verify_keys: { 'ed25519 bad': { key: remote.publicKeyBase64 } } })))).toMatch(/algorithm:version/);
    expect(reasonOf(signedDocument((d) => ({ ...d, old_verify_keys: { [retired.keyId]: { key: retired.publicKeyBase64 } } })))).toMatch(/expired_ts/);
    const many = Object.fromEntries(Array.from({ length: MAX_KEYS_PER_RESPONSE }, (_, i) => [`ed25519:k${i}`, { key: remote.publicKeyBase64, expired_ts: 1 }]));
    expect(reasonOf(signedDocument((d) => ({ ...d, old_verify_keys: many })))).toMatch(/more than 32 keys/);
    expect(reasonOf(signedDocument((d) => ({ ...d, padding: 'x'.repeat(20_000) })))).toMatch(/bytes/);
  });

  it('needs an ed25519 verify key; other algorithms are skipped', () => {
    expect(reasonOf(signedDocument((d) => ({ ...d, verify_keys: { 'curve9:abc': { key: 'xyz' } } })))).toMatch(/no ed25519 key/);
    const withOther = signedDocument((d) => ({
      ...d, verify_keys: { [remote.keyId]: { key: remote.publicKeyBase64 }, 'curve9:abc': { key: 'xyz' } },
    }));
    const verdict = verifyServerKeys(withOther, 'remote.test', NOW);
    expect(verdict.ok && verdict.keys.keys.map((key) => key.keyId)).toEqual([remote.keyId, retired.keyId]);
  });

  it('caps a current key\'s validity at 7 days after it was received', () => {
    const verdict = verifyServerKeys(signedDocument((d) => ({ ...d, valid_until_ts: NOW + 365 * DAY })), 'remote.test', NOW);
    expect(verdict.ok && verdict.keys.keys[0]?.validUntilTs).toBe(NOW + MAX_KEY_VALIDITY_MS);
    // The document keeps its own valid_until_ts: a notary relays it as it is.
    expect(verdict.ok && verdict.keys.validUntilTs).toBe(NOW + 365 * DAY);
  });
});

describe('a notary\'s answer', () => {
  const notary = keyOf('notary.test', 'n');
  const trusted = { serverName: 'notary.test', verifyKeys: { [notary.keyId]: notary.publicKeyBase64 } };

  it('counts when the origin and the trusted notary both signed it', () => {
    expect(verifyNotarisedServerKeys(signJson(signedDocument(), notary), 'remote.test', trusted, NOW).ok).toBe(true);
  });

  it('does not count without the notary signature, or signed by another notary key', () => {
    expect(verifyNotarisedServerKeys(signedDocument(), 'remote.test', trusted, NOW)).toMatchObject({ ok: false });
    const impostor = keyOf('notary.test', 'n');
    expect(verifyNotarisedServerKeys(signJson(signedDocument(), impostor), 'remote.test', trusted, NOW)).toMatchObject({ ok: false });
  });

  it('does not count when only the notary signed it (the origin must have)', () => {
    const forged = signJson({ ...signedDocument(), signatures: {} }, notary);
    expect(verifyNotarisedServerKeys(forged, 'remote.test', trusted, NOW)).toMatchObject({ ok: false });
  });
});

describe('which keys verify an event (v5-signing-requirements.md)', () => {
  it('room versions 1–4 accept any key; 5 and later need it valid at origin_server_ts', () => {
    for (const [id, rules] of ROOM_VERSIONS) {
      expect(keyRequiredValidAt(rules, NOW), `room version ${id}`).toBe(['1', '2', '3', '4'].includes(id) ? 0 : NOW);
    }
  });

  it('a key counts while its validity covers the required time', () => {
    expect(keyValidAt({ validUntilTs: NOW }, NOW)).toBe(true);
    expect(keyValidAt({ validUntilTs: NOW - 1 }, NOW)).toBe(false);
    // An old key's validity is its expired_ts: in a v1 room (required 0) it still verifies.
    expect(keyValidAt({ validUntilTs: NOW - DAY }, keyRequiredValidAt({ enforceKeyValidity: false }, NOW))).toBe(true);
    expect(keyValidAt({ validUntilTs: NOW - DAY }, keyRequiredValidAt({ enforceKeyValidity: true }, NOW))).toBe(false);
  });
});
