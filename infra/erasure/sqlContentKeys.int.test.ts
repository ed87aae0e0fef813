import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContentKeyStore, NewContentKey, SqlDatabase } from '../../domain/index.ts';
import { openTestSchema, type TestSchema } from '../../test/harness/index.ts';
import { newDataKey } from './sealing.ts';
import { cachingContentKeys, createSqlContentKeyStore, ensureContentKeysSchema } from './sqlContentKeys.ts';

const key = (keyId: string, eventId: string, owner: string): NewContentKey => ({ keyId, eventId, roomId: '!r:x', owner, key: newDataKey() });

describe('the content key store on PostgreSQL', () => {
  let schema: TestSchema;
  beforeAll(async () => {
    schema = await openTestSchema('content_keys');
    await ensureContentKeysSchema(schema.db);
    await ensureContentKeysSchema(schema.db);
  });
  afterAll(() => schema?.drop());

  const suite = (name: string, make: () => ContentKeyStore, prefix: string) => {
    it(`${name}: keeps keys until destroyed by owner (but the kept events) or by event`, async () => {
      const store = make();
      const keys = [key(`${prefix}1`, `$${prefix}a`, `@alice-${prefix}:x`), key(`${prefix}2`, `$${prefix}b`, `@alice-${prefix}:x`), key(`${prefix}3`, `$${prefix}c`, `@bob-${prefix}:x`), key(`${prefix}4`, `$${prefix}d`, `@bob-${prefix}:x`)];
      await store.create(keys);
      const all = await store.lookup(keys.map((k) => k.keyId));
      expect([...all.keys()].sort()).toEqual(keys.map((k) => k.keyId));
      expect(Buffer.from(all.get(`${prefix}1`)!)).toEqual(Buffer.from(keys[0]!.key));

      expect(await store.destroyOwnedBy(`@alice-${prefix}:x`, [`$${prefix}b`])).toBe(1);
      expect(await store.destroyForEvents([`$${prefix}c`, '$unknown'])).toBe(1);
      const left = await store.lookup(keys.map((k) => k.keyId));
      expect([...left.keys()].sort()).toEqual([`${prefix}2`, `${prefix}4`]);
      // A fresh reader (another process, a restart) agrees.
      expect([...(await createSqlContentKeyStore(schema.db).lookup(keys.map((k) => k.keyId))).keys()].sort()).toEqual([`${prefix}2`, `${prefix}4`]);
      expect(await store.lookup([])).toEqual(new Map());
    });
  };
  suite('uncached', () => createSqlContentKeyStore(schema.db), 'u');

  it('stores the keys of appends arriving while an insert is in flight with one more insert, each append answered', async () => {
    let inserts = 0;
    const counted: SqlDatabase = {
      query: (text, values) => { if (text.includes('INSERT')) inserts++; return schema.db.query(text, values); },
      transaction: (work) => schema.db.transaction(work),
      close: async () => undefined,
    };
    const store = createSqlContentKeyStore(counted);
    const appends = Array.from({ length: 10 }, (_, i) => [key(`g${i}`, `$g${i}`, '@gina:x')]);
    await Promise.all(appends.map((keys) => store.create(keys)));
    expect(inserts).toBe(2);
    const found = await store.lookup(appends.flat().map((k) => k.keyId));
    expect(found.size).toBe(10);
    // A failed insert fails the appends it carried, not the next ones.
    const taken = store.create([key('g0', '$again', '@gina:x')]);
    const next = store.create([key('g10', '$g10', '@gina:x')]);
    await expect(taken).rejects.toThrow();
    await expect(next).resolves.toBeUndefined();
  });
  suite('cached', () => cachingContentKeys(createSqlContentKeyStore(schema.db), 2), 'c');
});
