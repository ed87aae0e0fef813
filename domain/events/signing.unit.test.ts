import { describe, expect, it } from 'vitest';
import { decodeBase64 } from '../base64.ts';
import { signaturesFrom, signingKeyFromSeed, signJson, verifyJsonSignature } from './index.ts';

const alice = signingKeyFromSeed('alice.org', 'ed25519:a', new Uint8Array(32).fill(1));
const bob = signingKeyFromSeed('bob.org', 'ed25519:b', new Uint8Array(32).fill(2));

describe('signing JSON', () => {
  it('derives the public key from the seed', () => {
    expect(decodeBase64(alice.publicKeyBase64)).toHaveLength(32);
    expect(alice.publicKeyBase64).not.toBe(bob.publicKeyBase64);
    expect(signingKeyFromSeed('alice.org', 'ed25519:a', new Uint8Array(32).fill(1)).publicKeyBase64).toBe(alice.publicKeyBase64);
    expect(() => signingKeyFromSeed('x', 'ed25519:a', new Uint8Array(31))).toThrow(/32 bytes/);
    expect(() => signingKeyFromSeed('x', 'rsa:a', new Uint8Array(32))).toThrow(/ed25519/);
  });

  it('adds a signature beside existing ones and keeps unsigned data out of it', () => {
    const once = signJson({ a: 1, unsigned: { age: 1 } }, alice);
    const twice = signJson(once, bob);
    expect([...signaturesFrom(twice, 'alice.org').keys()]).toEqual(['ed25519:a']);
    expect([...signaturesFrom(twice, 'bob.org').keys()]).toEqual(['ed25519:b']);
    expect(twice.unsigned).toEqual({ age: 1 });
    const changedUnsigned = { ...twice, unsigned: { age: 999 } };
    expect(verifyJsonSignature(changedUnsigned, 'alice.org', 'ed25519:a', alice.publicKeyBase64)).toBe(true);
    expect(verifyJsonSignature(changedUnsigned, 'bob.org', 'ed25519:b', bob.publicKeyBase64)).toBe(true);
  });

  it('fails verification for a wrong key, server, key id, tampered data or bad signature text', () => {
    const signed = signJson({ a: 1 }, alice);
    expect(verifyJsonSignature(signed, 'alice.org', 'ed25519:a', bob.publicKeyBase64)).toBe(false);
    expect(verifyJsonSignature(signed, 'bob.org', 'ed25519:a', alice.publicKeyBase64)).toBe(false);
    expect(verifyJsonSignature(signed, 'alice.org', 'ed25519:other', alice.publicKeyBase64)).toBe(false);
    expect(verifyJsonSignature(signed, 'alice.org', 'curve:a', alice.publicKeyBase64)).toBe(false);
    expect(verifyJsonSignature({ ...signed, a: 2 }, 'alice.org', 'ed25519:a', alice.publicKeyBase64)).toBe(false);
    expect(verifyJsonSignature({ ...signed, signatures: { 'alice.org': { 'ed25519:a': '!!' } } }, 'alice.org', 'ed25519:a', alice.publicKeyBase64)).toBe(false);
    expect(verifyJsonSignature(signed, 'alice.org', 'ed25519:a', 'not a key')).toBe(false);
    expect(verifyJsonSignature({ ...signed, a: 1.5 }, 'alice.org', 'ed25519:a', alice.publicKeyBase64)).toBe(false);
  });
});
