/**
 * End-to-end keys (client-server-api § End-to-End Encryption): device keys, one-time keys, fallback
 * keys, and the device-list stream. Keys are stored as the JSON text received, so signatures are
 * kept verbatim (JSONB would reorder keys and normalise numbers).
 */
import { BoundedMap } from '../../domain/index.ts';
import type { ClaimedKey, JsonObject, KeyStore, SqlDatabase } from '../../domain/app/userData/index.ts';
import { currentPosition, recordDeviceListChange } from './streams.ts';

type Key = JsonObject | string;

/** JSON with sorted keys, to compare two uploads of the same keys. */
export const stableJson = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
};

/** `algorithm:key_id` → [algorithm, key_id]; key ids may themselves contain colons. */
const splitKeyId = (fullId: string): [string, string] => {
  const colon = fullId.indexOf(':');
  return colon < 0 ? [fullId, ''] : [fullId.slice(0, colon), fullId.slice(colon + 1)];
};

type KeyCounts = Awaited<ReturnType<KeyStore['keyCounts']>>;

/** Devices whose key counts are remembered; past it the longest-remembered are forgotten. */
export const KEY_COUNTS_REMEMBERED = 10_000;

/**
 * Every /sync response carries the device's key counts, which change only when that device uploads
 * or has a key claimed: remembered per device, forgotten when one of this store's writes for the
 * device settles (committed or not). Exact because one process writes a namespace (the writer lease)
 * and every key write goes through this store. A read in flight when a write settles is forgotten
 * with it, so no count read before a write outlives it.
 */
const rememberedKeyCounts = (read: (userId: string, deviceId: string) => Promise<KeyCounts>) => {
  const remembered = new BoundedMap<string, Promise<KeyCounts>>(KEY_COUNTS_REMEMBERED);
  const slot = (userId: string, deviceId: string): string => `${userId}\u0000${deviceId}`;
  return {
    read(userId: string, deviceId: string): Promise<KeyCounts> {
      const key = slot(userId, deviceId);
      const known = remembered.get(key);
      if (known !== undefined) return known;
      const pending = read(userId, deviceId);
      remembered.set(key, pending);
      pending.catch(() => { if (remembered.get(key) === pending) remembered.delete(key); });
      return pending;
    },
    /** Runs a write of the device's keys, forgetting its counts once the write settles. */
    async writing<T>(userId: string, deviceId: string, write: Promise<T>): Promise<T> {
      try {
        return await write;
      } finally {
        remembered.delete(slot(userId, deviceId));
      }
    },
  };
};

export const createSqlKeyStore = (db: SqlDatabase): KeyStore => {
  const counts = rememberedKeyCounts(async (userId, deviceId) => {
    const { rows } = await db.query<{ fallback: boolean; algorithm: string; n: number }>(
      `SELECT false AS fallback, algorithm, count(*) AS n FROM e2e_one_time_keys WHERE user_id = $1 AND device_id = $2 GROUP BY algorithm
       UNION ALL SELECT true, algorithm, 0 FROM e2e_fallback_keys WHERE user_id = $1 AND device_id = $2 AND NOT used`,
      [userId, deviceId],
    );
    return {
      oneTimeKeyCounts: Object.fromEntries(rows.filter((row) => !row.fallback).map((row) => [row.algorithm, Number(row.n)])),
      unusedFallbackKeyTypes: rows.filter((row) => row.fallback).map((row) => row.algorithm).sort(),
    };
  });
  return {
    setDeviceKeys(userId, deviceId, keys) {
      return db.transaction(async (tx) => {
        const { rows } = await tx.query<{ keys: string }>(
          'SELECT keys FROM e2e_device_keys WHERE user_id = $1 AND device_id = $2 FOR UPDATE', [userId, deviceId],
        );
        if (rows[0] !== undefined && stableJson(JSON.parse(rows[0].keys)) === stableJson(keys)) return false;
        await tx.query(
          `INSERT INTO e2e_device_keys (user_id, device_id, keys) VALUES ($1, $2, $3)
           ON CONFLICT (user_id, device_id) DO UPDATE SET keys = EXCLUDED.keys`,
          [userId, deviceId, JSON.stringify(keys)],
        );
        await recordDeviceListChange(tx, userId);
        return true;
      });
    },

    async getDeviceKeys(userId, deviceIds) {
      const { rows } = deviceIds.length === 0
        ? await db.query<{ device_id: string; keys: string }>('SELECT device_id, keys FROM e2e_device_keys WHERE user_id = $1', [userId])
        : await db.query<{ device_id: string; keys: string }>(
          'SELECT device_id, keys FROM e2e_device_keys WHERE user_id = $1 AND device_id = ANY($2::text[])', [userId, deviceIds],
        );
      return new Map(rows.map((row) => [row.device_id, JSON.parse(row.keys) as JsonObject]));
    },

    addOneTimeKeys(userId, deviceId, keys) {
      // One statement each for the check and the insert: a client uploads 50 keys at a time, and a
      // statement per key kept a new device's first upload open for hundreds of milliseconds.
      const algorithms: string[] = [];
      const keyIds: string[] = [];
      const texts: string[] = [];
      for (const [fullId, key] of keys) {
        const [algorithm, keyId] = splitKeyId(fullId);
        algorithms.push(algorithm);
        keyIds.push(keyId);
        texts.push(JSON.stringify(key));
      }
      return counts.writing(userId, deviceId, db.transaction(async (tx) => {
        const { rows } = await tx.query<{ algorithm: string; key_id: string; key: string }>(
          `SELECT k.algorithm, k.key_id, k.key FROM e2e_one_time_keys k
           JOIN unnest($3::text[], $4::text[]) AS u(algorithm, key_id) ON k.algorithm = u.algorithm AND k.key_id = u.key_id
           WHERE k.user_id = $1 AND k.device_id = $2`,
          [userId, deviceId, algorithms, keyIds],
        );
        const stored = new Map(rows.map((row) => [`${row.algorithm}:${row.key_id}`, row.key]));
        const conflicts = [...keys].filter(([fullId, key]) => {
          const old = stored.get(fullId);
          return old !== undefined && stableJson(JSON.parse(old)) !== stableJson(key);
        }).map(([fullId]) => fullId);
        if (conflicts.length > 0) return conflicts;
        await tx.query(
          `INSERT INTO e2e_one_time_keys (user_id, device_id, algorithm, key_id, key)
           SELECT $1, $2, u.algorithm, u.key_id, u.key FROM unnest($3::text[], $4::text[], $5::text[]) AS u(algorithm, key_id, key)
           ON CONFLICT DO NOTHING`,
          [userId, deviceId, algorithms, keyIds, texts],
        );
        return [];
      }));
    },

    async setFallbackKeys(userId, deviceId, keys) {
      await counts.writing(userId, deviceId, db.transaction(async (tx) => {
        for (const [fullId, key] of keys) {
          const [algorithm, keyId] = splitKeyId(fullId);
          await tx.query(
            `INSERT INTO e2e_fallback_keys (user_id, device_id, algorithm, key_id, key, used) VALUES ($1, $2, $3, $4, $5, FALSE)
             ON CONFLICT (user_id, device_id, algorithm) DO UPDATE
               SET key_id = EXCLUDED.key_id, key = EXCLUDED.key,
                 -- Re-uploading the same key keeps its used flag (as Synapse does).
                 used = e2e_fallback_keys.used AND e2e_fallback_keys.key_id = EXCLUDED.key_id`,
            [userId, deviceId, algorithm, keyId, JSON.stringify(key)],
          );
        }
      }));
    },

    async oneTimeKeyCounts(userId, deviceId) {
      const { rows } = await db.query<{ algorithm: string; n: number }>(
        'SELECT algorithm, count(*) AS n FROM e2e_one_time_keys WHERE user_id = $1 AND device_id = $2 GROUP BY algorithm',
        [userId, deviceId],
      );
      return Object.fromEntries(rows.map((row) => [row.algorithm, Number(row.n)]));
    },

    async unusedFallbackKeyAlgorithms(userId, deviceId) {
      const { rows } = await db.query<{ algorithm: string }>(
        'SELECT algorithm FROM e2e_fallback_keys WHERE user_id = $1 AND device_id = $2 AND NOT used ORDER BY algorithm',
        [userId, deviceId],
      );
      return rows.map((row) => row.algorithm);
    },

    keyCounts: (userId, deviceId) => counts.read(userId, deviceId),

    claim(userId, deviceId, algorithm) {
      return counts.writing(userId, deviceId, db.transaction(async (tx): Promise<ClaimedKey | undefined> => {
        // SKIP LOCKED: concurrent claims each take a different key instead of waiting for the same one.
        // The pick is a materialised CTE: as an IN (…) subquery, concurrent claims were seen to delete
        // nothing and hand out the fallback key once statements ran prepared on PostgreSQL.
        const oneTime = await tx.query<{ key_id: string; key: string }>(
          `WITH picked AS MATERIALIZED (
             SELECT key_id FROM e2e_one_time_keys
             WHERE user_id = $1 AND device_id = $2 AND algorithm = $3
             ORDER BY key_id LIMIT 1 FOR UPDATE SKIP LOCKED)
           DELETE FROM e2e_one_time_keys k USING picked
           WHERE k.user_id = $1 AND k.device_id = $2 AND k.algorithm = $3 AND k.key_id = picked.key_id
           RETURNING k.key_id, k.key`,
          [userId, deviceId, algorithm],
        );
        const row = oneTime.rows[0] ?? (await tx.query<{ key_id: string; key: string }>(
          `UPDATE e2e_fallback_keys SET used = TRUE WHERE user_id = $1 AND device_id = $2 AND algorithm = $3
           RETURNING key_id, key`,
          [userId, deviceId, algorithm],
        )).rows[0];
        if (row === undefined) return undefined;
        return { userId, deviceId, keyId: `${algorithm}:${row.key_id}`, key: JSON.parse(row.key) as Key };
      }));
    },

    async deleteDevice(userId, deviceId) {
      await counts.writing(userId, deviceId, db.transaction(async (tx) => {
        for (const table of ['e2e_device_keys', 'e2e_one_time_keys', 'e2e_fallback_keys']) {
          await tx.query(`DELETE FROM ${table} WHERE user_id = $1 AND device_id = $2`, [userId, deviceId]);
        }
        // Cross-signing signatures of the device, and those it made, must not carry over to a new
        // device that reuses its id.
        await tx.query(
          `DELETE FROM e2e_cross_signing_signatures WHERE (target_user_id = $1 AND target_key_id = $2)
             OR (signer_user_id = $1 AND signer_key_id = $3)`,
          [userId, deviceId, `ed25519:${deviceId}`],
        );
        await recordDeviceListChange(tx, userId);
      }));
    },

    currentDeviceListPosition: () => currentPosition(db, 'device_lists'),

    async deviceListChangesSince(since, upTo) {
      const { rows } = await db.query<{ user_id: string }>(
        'SELECT DISTINCT user_id FROM device_list_changes WHERE stream_pos > $1 AND stream_pos <= $2 ORDER BY user_id',
        [since, upTo],
      );
      return rows.map((row) => row.user_id);
    },

    recordDeviceListChange: (userId) => db.transaction((tx) => recordDeviceListChange(tx, userId)),

    async latestDeviceListChanges(userId, limit) {
      const { rows } = await db.query<{ stream_pos: number }>(
        'SELECT stream_pos FROM device_list_changes WHERE user_id = $1 ORDER BY stream_pos DESC LIMIT $2', [userId, limit],
      );
      return rows.map((row) => Number(row.stream_pos));
    },
  };
};
