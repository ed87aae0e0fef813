/**
 * Cross-signing keys and the signatures uploaded apart from the keys they sign (client-server-api
 * § Cross-signing). Keys are stored as the JSON text received, like device keys.
 */
import type {
  CrossSigningKeyType, CrossSigningSignature, CrossSigningStore, JsonObject, SqlDatabase, SqlExecutor,
} from '../../domain/app/userData/index.ts';
import { stableJson } from './keyStore.ts';
import { recordDeviceListChange } from './streams.ts';

const KEY_TYPES: readonly CrossSigningKeyType[] = ['master', 'self_signing', 'user_signing'];

/** The key's one `ed25519:…` id (validated by the domain before storing). */
const keyIdOf = (key: JsonObject): string | undefined => {
  const keys = key.keys;
  return typeof keys === 'object' && keys !== null && !Array.isArray(keys) ? Object.keys(keys)[0] : undefined;
};

/** A replaced key's signatures, and those on a replaced master key, no longer mean anything. */
const forgetSignaturesOfReplacedKey = async (
  tx: SqlExecutor, userId: string, type: CrossSigningKeyType, old: JsonObject,
): Promise<void> => {
  const oldKeyId = keyIdOf(old);
  if (oldKeyId === undefined) return;
  await tx.query(
    'DELETE FROM e2e_cross_signing_signatures WHERE signer_user_id = $1 AND signer_key_id = $2', [userId, oldKeyId],
  );
  if (type === 'master') {
    await tx.query(
      'DELETE FROM e2e_cross_signing_signatures WHERE target_user_id = $1 AND target_key_id = $2',
      [userId, oldKeyId.slice(oldKeyId.indexOf(':') + 1)],
    );
  }
};

export const createSqlCrossSigningStore = (db: SqlDatabase): CrossSigningStore => ({
  async getKeys(userId) {
    const { rows } = await db.query<{ key_type: CrossSigningKeyType; key: string }>(
      'SELECT key_type, key FROM e2e_cross_signing_keys WHERE user_id = $1', [userId],
    );
    return Object.fromEntries(rows.map((row) => [row.key_type, JSON.parse(row.key) as JsonObject]));
  },

  setKeys(userId, keys) {
    return db.transaction(async (tx) => {
      const { rows } = await tx.query<{ key_type: CrossSigningKeyType; key: string }>(
        'SELECT key_type, key FROM e2e_cross_signing_keys WHERE user_id = $1 FOR UPDATE', [userId],
      );
      const stored = new Map(rows.map((row) => [row.key_type, JSON.parse(row.key) as JsonObject]));
      let changed = false;
      for (const type of KEY_TYPES) {
        const key = keys[type];
        if (key === undefined) continue;
        const old = stored.get(type);
        if (old !== undefined && stableJson(old) === stableJson(key)) continue;
        if (old !== undefined && keyIdOf(old) !== keyIdOf(key)) await forgetSignaturesOfReplacedKey(tx, userId, type, old);
        await tx.query(
          `INSERT INTO e2e_cross_signing_keys (user_id, key_type, key) VALUES ($1, $2, $3)
           ON CONFLICT (user_id, key_type) DO UPDATE SET key = EXCLUDED.key`,
          [userId, type, JSON.stringify(key)],
        );
        changed = true;
      }
      if (changed) await recordDeviceListChange(tx, userId);
      return changed;
    });
  },

  async addSignatures(signatures, changedUsers) {
    await db.transaction(async (tx) => {
      for (const s of signatures) {
        await tx.query(
          `INSERT INTO e2e_cross_signing_signatures (target_user_id, target_key_id, signer_user_id, signer_key_id, signature)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (target_user_id, target_key_id, signer_user_id, signer_key_id) DO UPDATE SET signature = EXCLUDED.signature`,
          [s.targetUserId, s.targetKeyId, s.signerUserId, s.signerKeyId, s.signature],
        );
      }
      for (const userId of new Set(changedUsers)) await recordDeviceListChange(tx, userId);
    });
  },

  async signaturesOn(targetUserId, signerUserIds) {
    if (signerUserIds.length === 0) return [];
    const { rows } = await db.query<{ target_key_id: string; signer_user_id: string; signer_key_id: string; signature: string }>(
      `SELECT target_key_id, signer_user_id, signer_key_id, signature FROM e2e_cross_signing_signatures
       WHERE target_user_id = $1 AND signer_user_id = ANY($2::text[])
       ORDER BY target_key_id, signer_user_id, signer_key_id`,
      [targetUserId, [...signerUserIds]],
    );
    return rows.map((row): CrossSigningSignature => ({
      targetUserId, targetKeyId: row.target_key_id, signerUserId: row.signer_user_id, signerKeyId: row.signer_key_id, signature: row.signature,
    }));
  },
});
