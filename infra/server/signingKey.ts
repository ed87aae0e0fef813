/**
 * This server's ed25519 signing keys. The current key is created on first start and kept in the
 * read-model database, so every process of one deployment signs with the same key and a restart
 * keeps it (remote servers cache our keys; a new key on every start would orphan the old
 * signatures). A key file (`federation.signing_key_path`, Synapse's format) replaces it; the
 * replaced key stays in the table with its `expired_ts`, published in `old_verify_keys` so
 * signatures made with it can still be checked (server-server-api.md § Publishing Keys).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  decodeBase64, encodeBase64, signingKeyFromSeed, type OldVerifyKey, type SigningKey, type SqlDatabase,
} from '../../domain/index.ts';

const KEY_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

const newKeyId = (): string => {
  const bytes = randomBytes(6);
  return `ed25519:${[...bytes].map((b) => KEY_ID_ALPHABET[b % KEY_ID_ALPHABET.length]).join('')}`;
};

/** The key we sign with and the ones we used to sign with. */
export interface ServerSigningKeys {
  readonly current: SigningKey;
  readonly old: readonly OldVerifyKey[];
}

/** A key as a key file gives it: the key id (`ed25519:<version>`) and the 32-byte seed. */
export interface SigningKeySeed {
  readonly keyId: string;
  readonly seed: Uint8Array;
}

/**
 * Parses a Synapse signing key file: lines of `<algorithm> <version> <unpadded Base64 seed>`
 * (Synapse's `signedjson.key.read_signing_keys`). The first ed25519 line is the key; a file with
 * none, or a malformed line before it, is an error naming the path (so start-up says what is wrong).
 */
export const parseSigningKeyFile = (text: string, path: string): SigningKeySeed => {
  const lines = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  for (const [index, line] of lines.entries()) {
    const parts = line.split(/\s+/);
    const [algorithm, version, seedText] = parts;
    if (parts.length !== 3 || algorithm === undefined || version === undefined || seedText === undefined) {
      throw new Error(`${path}: line ${index + 1} is not "<algorithm> <version> <base64 seed>"`);
    }
    if (algorithm !== 'ed25519') continue;
    if (!/^[A-Za-z0-9_]{1,64}$/.test(version)) throw new Error(`${path}: key version ${JSON.stringify(version)} is not [A-Za-z0-9_]`);
    const seed = decodeBase64(seedText);
    if (seed === undefined || seed.length !== 32) throw new Error(`${path}: the ed25519 seed is not 32 bytes of Base64`);
    return { keyId: `ed25519:${version}`, seed };
  }
  throw new Error(`${path}: holds no ed25519 key`);
};

interface KeyRow {
  key_id: string;
  seed_base64: string;
  expired_ts: string | number | null;
}

const ensureSchema = async (db: SqlDatabase): Promise<void> => {
  await db.query(`CREATE TABLE IF NOT EXISTS server_signing_keys (
    key_id TEXT PRIMARY KEY,
    seed_base64 TEXT NOT NULL,
    created_ts BIGINT NOT NULL
  )`);
  // Added with old_verify_keys: NULL marks the current key, a time the moment it was replaced.
  await db.query('ALTER TABLE server_signing_keys ADD COLUMN IF NOT EXISTS expired_ts BIGINT');
};

/** Makes `wanted` the current key, expiring whichever key was current, in one transaction. */
const installKey = async (db: SqlDatabase, wanted: SigningKeySeed, now: number): Promise<void> => {
  const seedBase64 = encodeBase64(wanted.seed);
  await db.transaction(async (tx) => {
    const { rows } = await tx.query<{ seed_base64: string }>('SELECT seed_base64 FROM server_signing_keys WHERE key_id = $1', [wanted.keyId]);
    const existing = rows[0];
    if (existing !== undefined && existing.seed_base64 !== seedBase64) {
      // One key id naming two keys would make remote servers' caches lie about our signatures.
      throw new Error(`the signing key file's key id ${wanted.keyId} is already used by another key in server_signing_keys`);
    }
    await tx.query('UPDATE server_signing_keys SET expired_ts = $1 WHERE expired_ts IS NULL AND key_id <> $2', [now, wanted.keyId]);
    await tx.query(
      `INSERT INTO server_signing_keys (key_id, seed_base64, created_ts, expired_ts) VALUES ($1, $2, $3, NULL)
       ON CONFLICT (key_id) DO UPDATE SET expired_ts = NULL`,
      [wanted.keyId, seedBase64, now],
    );
  });
};

/**
 * The server's keys: the key file's when `signingKeyPath` is set (replacing the stored current key
 * if it differs), otherwise the stored current key, created on first start.
 */
export const loadServerSigningKeys = async (
  db: SqlDatabase, serverName: string, options: { readonly signingKeyPath?: string; readonly now?: () => number } = {},
): Promise<ServerSigningKeys> => {
  const now = options.now ?? Date.now;
  await ensureSchema(db);
  if (options.signingKeyPath !== undefined) {
    const text = await readFile(options.signingKeyPath, 'utf8');
    await installKey(db, parseSigningKeyFile(text, options.signingKeyPath), now());
  } else {
    // First writer wins when several processes start at once; everyone then reads the same row.
    await db.query(
      `INSERT INTO server_signing_keys (key_id, seed_base64, created_ts)
       SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM server_signing_keys WHERE expired_ts IS NULL)
       ON CONFLICT (key_id) DO NOTHING`,
      [newKeyId(), encodeBase64(randomBytes(32)), now()],
    );
  }
  const { rows } = await db.query<KeyRow>(
    'SELECT key_id, seed_base64, expired_ts FROM server_signing_keys ORDER BY created_ts, key_id',
  );
  let current: SigningKey | undefined;
  const old: OldVerifyKey[] = [];
  for (const row of rows) {
    const seed = decodeBase64(row.seed_base64);
    if (seed === undefined || seed.length !== 32) throw new Error(`server_signing_keys: key ${row.key_id} has no usable seed`);
    const key = signingKeyFromSeed(serverName, row.key_id, seed);
    if (row.expired_ts === null) current ??= key;
    else old.push({ keyId: key.keyId, publicKeyBase64: key.publicKeyBase64, expiredTs: Number(row.expired_ts) });
  }
  if (current === undefined) throw new Error('server_signing_keys holds no current key');
  return { current, old };
};

/** The key this server signs with (see `loadServerSigningKeys`). */
export const loadOrCreateSigningKey = async (db: SqlDatabase, serverName: string): Promise<SigningKey> =>
  (await loadServerSigningKeys(db, serverName)).current;
