import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContentKey, ContentKeyStore, ContentKeyUse, LogEntry, SqlDatabase } from '../../domain/index.ts';
import { joinRowStatements, type Projection } from '../../projections/runtime/index.ts';
import { openTestSchema, type TestSchema } from '../../test/harness/index.ts';
import { contentKeyBinding, withContentKeyBindings } from './keyBindings.ts';
import { SEALED_HEADER } from './sealing.ts';
import { cachingContentKeys, createSqlContentKeyStore, ensureContentKeysSchema } from './sqlContentKeys.ts';

const use = (eventId: string, owner: string): ContentKeyUse => ({ eventId, roomId: '!r:x', owner });

/** A sealed room record's entry as the rooms projection sees it. */
const sealedEntry = (key: ContentKey, eventId: string, sender: string): LogEntry => ({
  topic: 'room.events', partition: 0, offset: 0, key: '!r:x', timestamp: 0,
  headers: { [SEALED_HEADER]: key.keyId },
  value: { type: 'pdu.accepted', v: 2, eventId, roomId: '!r:x', pdu: { sender, content: {} } },
});

/** Applies the bindings as the rooms projection's transaction does: joined into one statement. */
const bind = async (db: SqlDatabase, entries: readonly LogEntry[]): Promise<void> => {
  for (const statement of joinRowStatements(entries.map((entry) => contentKeyBinding(entry)!))) {
    await db.query(statement.text, statement.values);
  }
};

/** `db` counting the INSERTs it runs, failing the first `failing` of them. */
const counting = (db: SqlDatabase, failing = 0) => {
  const counts = { inserts: 0 };
  const wrapped: SqlDatabase = {
    query: async (text, values) => {
      if (text.includes('INSERT')) {
        counts.inserts++;
        if (counts.inserts <= failing) throw new Error('the database went away');
      }
      return db.query(text, values);
    },
    transaction: (work) => db.transaction(work),
    close: async () => undefined,
  };
  return { db: wrapped, counts };
};

describe('the content key store on PostgreSQL', () => {
  let schema: TestSchema;
  beforeAll(async () => {
    schema = await openTestSchema('content_keys');
    await ensureContentKeysSchema(schema.db);
    await ensureContentKeysSchema(schema.db);
  });
  afterAll(() => schema?.drop());

  const suite = (name: string, make: () => ContentKeyStore, prefix: string) => {
    it(`${name}: keeps keys until destroyed by owner (but the kept events) or by event, once the read model bound them`, async () => {
      const store = make();
      const alice = `@alice-${prefix}:x`;
      const bob = `@bob-${prefix}:x`;
      const uses = [use(`$${prefix}a`, alice), use(`$${prefix}b`, alice), use(`$${prefix}c`, bob), use(`$${prefix}d`, bob)];
      const keys = await store.reserve(uses);
      expect(keys).toHaveLength(4);
      expect(new Set(keys.map((k) => k.keyId)).size).toBe(4);
      const ids = keys.map((k) => k.keyId);
      const all = await store.lookup(ids);
      expect([...all.keys()].sort()).toEqual([...ids].sort());
      expect(Buffer.from(all.get(ids[0]!)!)).toEqual(Buffer.from(keys[0]!.key));

      // Bound as the rooms projection applies the records; a record applied again changes nothing.
      const entries = keys.map((k, i) => sealedEntry(k, uses[i]!.eventId, uses[i]!.owner));
      await bind(schema.db, entries);
      await bind(schema.db, [sealedEntry(keys[0]!, '$elsewhere', bob)]);

      expect(await store.destroyOwnedBy(alice, [`$${prefix}b`])).toBe(1);
      expect(await store.destroyForEvents([`$${prefix}c`, '$unknown'])).toBe(1);
      const left = await store.lookup(ids);
      expect([...left.keys()].sort()).toEqual([ids[1]!, ids[3]!].sort());
      // A fresh reader (another process, a restart) agrees.
      expect([...(await createSqlContentKeyStore(schema.db).lookup(ids)).keys()].sort()).toEqual([ids[1]!, ids[3]!].sort());
      expect(await store.lookup([])).toEqual(new Map());
      expect(await store.reserve([])).toEqual([]);
    });
  };
  suite('uncached', () => createSqlContentKeyStore(schema.db), 'u');
  suite('cached', () => cachingContentKeys(createSqlContentKeyStore(schema.db), 2), 'c');

  it('makes keys ahead, a batch per INSERT, durable before they are handed out', async () => {
    const { db, counts } = counting(schema.db);
    const store = createSqlContentKeyStore(db, Date.now, 8);
    const handed: ContentKey[] = [];
    for (let i = 0; i < 20; i++) handed.push(...await store.reserve([use(`$ahead${i}`, '@gina:x')]));
    // Concurrent appends share the keys made.
    handed.push(...(await Promise.all(Array.from({ length: 6 }, (_, i) => store.reserve([use(`$together${i}`, '@gina:x')])))).flat());
    // An append needing more than are made at once gets them in one INSERT.
    handed.push(...await store.reserve(Array.from({ length: 30 }, (_, i) => use(`$many${i}`, '@gina:x'))));
    expect(handed).toHaveLength(56);
    expect(new Set(handed.map((k) => k.keyId)).size).toBe(56);
    expect(counts.inserts).toBeGreaterThanOrEqual(4);
    expect(counts.inserts).toBeLessThanOrEqual(8);
    const found = await createSqlContentKeyStore(schema.db).lookup(handed.map((k) => k.keyId));
    expect(found.size).toBe(56);
    for (const k of handed) expect(Buffer.from(found.get(k.keyId)!)).toEqual(Buffer.from(k.key));
  });

  it('fails the appends waiting on a failed INSERT, and tries again for the next', async () => {
    const { db } = counting(schema.db, 1);
    const store = createSqlContentKeyStore(db, Date.now, 4);
    await expect(store.reserve([use('$lost', '@hal:x')])).rejects.toThrow('the database went away');
    const [key] = await store.reserve([use('$kept', '@hal:x')]);
    expect((await store.lookup([key!.keyId])).size).toBe(1);
  });

  it('takes over a table made when keys were bound on insert', async () => {
    const old = await openTestSchema('content_keys_old');
    try {
      await old.db.query(`CREATE TABLE content_keys (key_id text PRIMARY KEY, event_id text NOT NULL, room_id text NOT NULL,
        owner text NOT NULL, key text NOT NULL, created_at bigint NOT NULL)`);
      await old.db.query(`INSERT INTO content_keys VALUES ('before', '$before', '!r:x', '@ida:x', 'AAAA', 0)`);
      await ensureContentKeysSchema(old.db);
      const store = createSqlContentKeyStore(old.db);
      const [key] = await store.reserve([use('$after', '@ida:x')]);
      await bind(old.db, [sealedEntry(key!, '$after', '@ida:x')]);
      expect(await store.destroyOwnedBy('@ida:x', [])).toBe(2);
    } finally {
      await old.drop();
    }
  });
});

describe('withContentKeyBindings', () => {
  const inner: Projection = {
    name: 'rooms', version: 1, topic: 'room.events', schema: ['CREATE TABLE IF NOT EXISTS t (n int)'], tables: ['t'],
    evolve: () => [{ text: 'INSERT INTO t VALUES (1)' }],
  };
  const bound = withContentKeyBindings(inner);

  it('adds the binding of a sealed record after the projection\'s own statements, and nothing for others', () => {
    const key = { keyId: 'k1', key: new Uint8Array(32) };
    const statements = bound.evolve(sealedEntry(key, '$e', '@jo:x'));
    expect(statements).toHaveLength(2);
    expect(statements[0]).toEqual({ text: 'INSERT INTO t VALUES (1)' });
    expect(statements[1]!.text).toMatch(/^UPDATE content_keys AS k SET event_id = b\.event_id, room_id = b\.room_id, owner = b\.owner\s+FROM unnest\(/);
    expect(statements[1]).toMatchObject({ values: [['k1'], ['$e'], ['!r:x'], ['@jo:x']], rows: true, independent: true });
    const plain = { ...sealedEntry(key, '$e', '@jo:x'), headers: {} };
    expect(bound.evolve(plain)).toEqual([{ text: 'INSERT INTO t VALUES (1)' }]);
  });

  it('creates the key table with its schema but never counts it among the tables a rebuild empties', () => {
    expect(bound.schema.some((statement) => statement.includes('CREATE TABLE IF NOT EXISTS content_keys'))).toBe(true);
    expect(bound.schema).toContain('CREATE TABLE IF NOT EXISTS t (n int)');
    expect(bound.tables).toEqual(['t']);
    expect(bound.name).toBe('rooms');
  });
});
