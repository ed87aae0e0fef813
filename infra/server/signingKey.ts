/**
 * This server's ed25519 signing key. Created on first start and kept in the read-model database, so
 * every process of one deployment signs with the same key and a restart keeps it (remote servers
 * cache our keys; a new key on every start would orphan the old signatures).
 */
import { randomBytes } from 'node:crypto';
import { decodeBase64, encodeBase64, signingKeyFromSeed, type SigningKey, type SqlDatabase } from '../../domain/index.ts';

const KEY_ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

const newKeyId = (): string => {
  const bytes = randomBytes(6);
  return `ed25519:${[...bytes].map((b) => KEY_ID_ALPHABET[b % KEY_ID_ALPHABET.length]).join('')}`;
};

export const loadOrCreateSigningKey = async (db: SqlDatabase, serverName: string): Promise<SigningKey> => {
  await db.query(`CREATE TABLE IF NOT EXISTS server_signing_keys (
    key_id TEXT PRIMARY KEY,
    seed_base64 TEXT NOT NULL,
    created_ts BIGINT NOT NULL
  )`);
  // First writer wins when several processes start at once; everyone then reads the same row.
  await db.query(
    `INSERT INTO server_signing_keys (key_id, seed_base64, created_ts)
     SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM server_signing_keys)
     ON CONFLICT (key_id) DO NOTHING`,
    [newKeyId(), encodeBase64(randomBytes(32)), Date.now()],
  );
  const { rows } = await db.query<{ key_id: string; seed_base64: string }>(
    'SELECT key_id, seed_base64 FROM server_signing_keys ORDER BY created_ts, key_id LIMIT 1',
  );
  const row = rows[0];
  const seed = row === undefined ? undefined : decodeBase64(row.seed_base64);
  if (row === undefined || seed === undefined || seed.length !== 32) throw new Error('server_signing_keys holds no usable key');
  return signingKeyFromSeed(serverName, row.key_id, seed);
};
