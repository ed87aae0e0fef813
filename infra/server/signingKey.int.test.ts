// The server's signing keys in PostgreSQL: created once, kept across restarts, replaced by a
// Synapse-format key file with the replaced key kept as an old verify key (with expired_ts).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBase64, signingKeyFromSeed } from '../../domain/index.ts';
import { openTestSchema, type TestSchema } from '../../test/harness/index.ts';
import { loadServerSigningKeys, parseSigningKeyFile } from './signingKey.ts';

describe('Synapse signing key files', () => {
  const seed = randomBytes(32);

  it('reads the first ed25519 line: key id ed25519:<version> and the 32-byte seed', () => {
    const parsed = parseSigningKeyFile(`\ned25519 a_AbCd ${encodeBase64(seed)}\ned25519 other ${encodeBase64(randomBytes(32))}\n`, 'k');
    expect(parsed.keyId).toBe('ed25519:a_AbCd');
    expect(Buffer.from(parsed.seed).equals(seed)).toBe(true);
  });

  it('names the file and the problem when the file is unusable', () => {
    expect(() => parseSigningKeyFile('', '/etc/k')).toThrow('/etc/k: holds no ed25519 key');
    expect(() => parseSigningKeyFile('ed25519 a_b', '/etc/k')).toThrow(/line 1/);
    expect(() => parseSigningKeyFile(`ed25519 a_b ${encodeBase64(randomBytes(16))}`, '/etc/k')).toThrow(/32 bytes/);
    expect(() => parseSigningKeyFile(`ed25519 a-b ${encodeBase64(seed)}`, '/etc/k')).toThrow(/version/);
  });
});

describe('signing keys in the database', () => {
  let schema: TestSchema;
  let dir: string;
  beforeAll(async () => {
    schema = await openTestSchema('signing_keys');
    dir = await mkdtemp(path.join(tmpdir(), 'strata-signing-key-'));
  });
  afterAll(async () => {
    await schema?.drop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('creates a key once, keeps it across restarts, and a key file replaces it, keeping it as an old key', async () => {
    const first = await loadServerSigningKeys(schema.db, 'keys.test', { now: () => 1000 });
    expect(first.old).toEqual([]);
    const again = await loadServerSigningKeys(schema.db, 'keys.test', { now: () => 2000 });
    expect(again.current.keyId).toBe(first.current.keyId);
    expect(again.current.publicKeyBase64).toBe(first.current.publicKeyBase64);

    const seed = randomBytes(32);
    const file = path.join(dir, 'strata.signing.key');
    await writeFile(file, `ed25519 a_file ${encodeBase64(seed)}\n`);
    const fromFile = await loadServerSigningKeys(schema.db, 'keys.test', { signingKeyPath: file, now: () => 3000 });
    expect(fromFile.current.keyId).toBe('ed25519:a_file');
    expect(fromFile.current.publicKeyBase64).toBe(signingKeyFromSeed('keys.test', 'ed25519:a_file', seed).publicKeyBase64);
    expect(fromFile.old).toEqual([{ keyId: first.current.keyId, publicKeyBase64: first.current.publicKeyBase64, expiredTs: 3000 }]);

    // The same file again changes nothing; without it the file's key stays current.
    const reread = await loadServerSigningKeys(schema.db, 'keys.test', { signingKeyPath: file, now: () => 4000 });
    expect(reread.old).toEqual(fromFile.old);
    const withoutFile = await loadServerSigningKeys(schema.db, 'keys.test', { now: () => 5000 });
    expect(withoutFile.current.keyId).toBe('ed25519:a_file');
    expect(withoutFile.old).toEqual(fromFile.old);
  });

  it('refuses a key file whose key id names another key already used', async () => {
    const file = path.join(dir, 'clash.key');
    await writeFile(file, `ed25519 a_file ${encodeBase64(randomBytes(32))}\n`);
    await expect(loadServerSigningKeys(schema.db, 'keys.test', { signingKeyPath: file })).rejects.toThrow(/already used by another key/);
  });
});
