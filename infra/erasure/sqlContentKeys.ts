/**
 * The content key store on the read-model database (PostgreSQL or PGlite). `content_keys` is not a
 * projection table: no rebuild truncates it (it is in no projection's `tables`), and it must be
 * backed up with the database — but see docs/erasure.md on why backups keep destroyed keys alive.
 */
import { createGroupCommit, type ContentKeyStore, type NewContentKey, type SqlDatabase } from '../../domain/index.ts';

export const CONTENT_KEYS_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS content_keys (
    key_id text PRIMARY KEY,
    event_id text NOT NULL,
    room_id text NOT NULL,
    owner text NOT NULL,
    key text NOT NULL,
    created_at bigint NOT NULL
  )`,
  'CREATE INDEX IF NOT EXISTS content_keys_owner ON content_keys (owner)',
  'CREATE INDEX IF NOT EXISTS content_keys_event ON content_keys (event_id)',
];

export const ensureContentKeysSchema = async (db: SqlDatabase): Promise<void> => {
  for (const statement of CONTENT_KEYS_SCHEMA) await db.query(statement);
};

const toBase64 = (key: Uint8Array): string => Buffer.from(key).toString('base64');

export const createSqlContentKeyStore = (db: SqlDatabase, now: () => number = Date.now): ContentKeyStore => {
  // Every append waits for its keys before it reaches the log, and the rooms' writers append at
  // once: keys that arrive while an insert is in flight go together in the next one.
  const creating = createGroupCommit<readonly NewContentKey[], void>(async (batches) => {
    const keys = batches.flat();
    await db.query(
      `INSERT INTO content_keys (key_id, event_id, room_id, owner, key, created_at)
       SELECT k.key_id, k.event_id, k.room_id, k.owner, k.key, $6
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS k(key_id, event_id, room_id, owner, key)`,
      [keys.map((k) => k.keyId), keys.map((k) => k.eventId), keys.map((k) => k.roomId), keys.map((k) => k.owner), keys.map((k) => toBase64(k.key)), now()],
    );
    return batches.map(() => undefined);
  });
  return {
    async create(keys) {
      if (keys.length === 0) return;
      await creating.add(keys);
    },
    async lookup(keyIds) {
      if (keyIds.length === 0) return new Map();
      const { rows } = await db.query<{ key_id: string; key: string }>(
        'SELECT key_id, key FROM content_keys WHERE key_id = ANY($1::text[])', [[...keyIds]],
      );
      return new Map(rows.map((row) => [row.key_id, new Uint8Array(Buffer.from(row.key, 'base64'))]));
    },
    async destroyOwnedBy(owner, keepEventIds) {
      const { rowCount } = await db.query('DELETE FROM content_keys WHERE owner = $1 AND NOT (event_id = ANY($2::text[]))', [owner, [...keepEventIds]]);
      return rowCount;
    },
    async destroyForEvents(eventIds) {
      if (eventIds.length === 0) return 0;
      const { rowCount } = await db.query('DELETE FROM content_keys WHERE event_id = ANY($1::text[])', [[...eventIds]]);
      return rowCount;
    },
  };
};

interface Cached {
  readonly key: Uint8Array;
  readonly owner: string;
  readonly eventId: string;
}

/**
 * Remembers the keys it created and looked up (least recently used dropped beyond `max`), so the
 * consumers that read a record right after it was appended do not each ask the database. Destroying
 * goes to the store first, then forgets the cached keys, so a destroyed key is never served again
 * by this process (one process per deployment: docs/erasure.md).
 */
export const cachingContentKeys = (store: ContentKeyStore, max = 20_000): ContentKeyStore => {
  const cache = new Map<string, Cached>();
  const remember = (keyId: string, entry: Cached): void => {
    cache.delete(keyId);
    cache.set(keyId, entry);
    if (cache.size > max) cache.delete(cache.keys().next().value!);
  };
  const forget = (matches: (entry: Cached) => boolean): void => {
    for (const [keyId, entry] of cache) if (matches(entry)) cache.delete(keyId);
  };
  // Owners and event ids of keys looked up (not created here) are unknown: lookups go uncached.
  return {
    async create(keys: readonly NewContentKey[]) {
      await store.create(keys);
      for (const k of keys) remember(k.keyId, { key: k.key, owner: k.owner, eventId: k.eventId });
    },
    async lookup(keyIds) {
      const found = new Map<string, Uint8Array>();
      const missing: string[] = [];
      for (const keyId of keyIds) {
        const cached = cache.get(keyId);
        if (cached === undefined) missing.push(keyId);
        else found.set(keyId, cached.key);
      }
      if (missing.length > 0) for (const [keyId, key] of await store.lookup(missing)) found.set(keyId, key);
      return found;
    },
    async destroyOwnedBy(owner, keepEventIds) {
      const count = await store.destroyOwnedBy(owner, keepEventIds);
      const keep = new Set(keepEventIds);
      forget((entry) => entry.owner === owner && !keep.has(entry.eventId));
      return count;
    },
    async destroyForEvents(eventIds) {
      const count = await store.destroyForEvents(eventIds);
      const gone = new Set(eventIds);
      forget((entry) => gone.has(entry.eventId));
      return count;
    },
  };
};
