/**
 * The content key store on the read-model database (PostgreSQL or PGlite). `content_keys` is not a
 * projection table: no rebuild truncates it (it is in no projection's `tables`), and it must be
 * backed up with the database — but see docs/erasure.md on why backups keep destroyed keys alive.
 *
 * Keys are made ahead, a few hundred per INSERT, and handed out from memory: an append used to wait
 * for an INSERT of its own keys (a round trip and a disk flush on every send). A key is stored
 * bound to nothing; the rooms projection binds it to its event, owner and room in the transaction
 * that applies the record (keyBindings.ts), which is exactly once and survives a crash between the
 * append and the binding (the consumer applies the record again). Keys made but never handed out
 * (the process stopped) stay unbound and seal nothing.
 */
import type { ContentKey, ContentKeyStore, ContentKeyUse, SqlDatabase } from '../../domain/index.ts';
import { newDataKey, newKeyId } from './sealing.ts';

export const CONTENT_KEYS_SCHEMA: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS content_keys (
    key_id text PRIMARY KEY,
    event_id text,
    room_id text,
    owner text,
    key text NOT NULL,
    created_at bigint NOT NULL
  )`,
  // Tables made before keys were made ahead required the binding at insert.
  'ALTER TABLE content_keys ALTER COLUMN event_id DROP NOT NULL, ALTER COLUMN room_id DROP NOT NULL, ALTER COLUMN owner DROP NOT NULL',
  'CREATE INDEX IF NOT EXISTS content_keys_owner ON content_keys (owner)',
  'CREATE INDEX IF NOT EXISTS content_keys_event ON content_keys (event_id)',
];

/** Keys made per INSERT; the next is made once fewer than a quarter are left. */
export const CONTENT_KEYS_MADE_AHEAD = 512;

export const ensureContentKeysSchema = async (db: SqlDatabase): Promise<void> => {
  for (const statement of CONTENT_KEYS_SCHEMA) await db.query(statement);
};

const toBase64 = (key: Uint8Array): string => Buffer.from(key).toString('base64');

export const createSqlContentKeyStore = (
  db: SqlDatabase, now: () => number = Date.now, madeAhead: number = CONTENT_KEYS_MADE_AHEAD,
): ContentKeyStore => {
  /** Stored (synchronous commit: these rows exist nowhere else) and not handed out yet. */
  const ready: ContentKey[] = [];
  let making: Promise<void> | undefined;
  /** Stores `count` new keys, or joins the INSERT under way; a failure reaches whoever waits on it. */
  const makeKeys = (count: number): Promise<void> => {
    making ??= (async () => {
      const made = Array.from({ length: count }, (): ContentKey => ({ keyId: newKeyId(), key: newDataKey() }));
      try {
        await db.query(
          `INSERT INTO content_keys (key_id, key, created_at)
           SELECT k.key_id, k.key, $3 FROM unnest($1::text[], $2::text[]) AS k(key_id, key)`,
          [made.map((k) => k.keyId), made.map((k) => toBase64(k.key)), now()],
        );
        ready.push(...made);
      } finally {
        making = undefined;
      }
    })();
    return making;
  };
  return {
    async reserve(uses: readonly ContentKeyUse[]) {
      while (ready.length < uses.length) await makeKeys(Math.max(madeAhead, uses.length - ready.length));
      const taken = ready.splice(0, uses.length);
      // Made in the background; if that fails, an append that runs out waits for (and fails with) the next try.
      if (ready.length < madeAhead / 4 && making === undefined) makeKeys(madeAhead).catch(() => undefined);
      return taken;
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
 * Remembers the keys it handed out and looked up (least recently used dropped beyond `max`), so the
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
    async reserve(uses) {
      const keys = await store.reserve(uses);
      keys.forEach((k, i) => remember(k.keyId, { key: k.key, owner: uses[i]!.owner, eventId: uses[i]!.eventId }));
      return keys;
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
