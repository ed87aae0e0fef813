/**
 * One behavioural suite for every SqlDatabase adapter: the read models are written once, so pg and
 * PGlite must answer the same statements with the same values. Each adapter's test calls this.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDatabase } from '../../domain/ports/index.ts';

export const describeSqlDatabaseContract = (name: string, open: () => Promise<SqlDatabase>): void => {
  describe(`SqlDatabase contract: ${name}`, () => {
    let db: SqlDatabase;
    const table = `contract_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const counter = `${table}_counter`;

    beforeAll(async () => {
      db = await open();
      for (let i = 0; i < 2; i++) {
        // Schema statements must be idempotent (projections run theirs at every start).
        await db.query(`CREATE TABLE IF NOT EXISTS ${table} (
          id int8 PRIMARY KEY, name text, flag boolean, data bytea, at timestamptz,
          doc jsonb, tags text[], amount numeric)`);
        await db.query(`CREATE TABLE IF NOT EXISTS ${counter} (name text PRIMARY KEY, n int8 NOT NULL)`);
      }
    });
    afterAll(async () => {
      await db.query(`DROP TABLE IF EXISTS ${table}`);
      await db.query(`DROP TABLE IF EXISTS ${counter}`);
      await db.close();
    });

    it('round-trips parameters of every port type with the same JavaScript values', async () => {
      const at = new Date('2024-05-06T07:08:09.123Z');
      const doc = { body: "it's \"quoted\" \\ ü 🎉", n: [1, 2, { x: null }] };
      const inserted = await db.query(
        `INSERT INTO ${table} (id, name, flag, data, at, doc, tags, amount)
         VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8)`,
        [9_007_199_254_740_991n, 'o\'neil "x" \\ \n ünï', true, new Uint8Array([0, 1, 255]), at,
          JSON.stringify(doc), ['a', 'b,c', 'd"e'], '12.50'],
      );
      expect(inserted.rowCount).toBe(1);
      const { rows, rowCount } = await db.query(`SELECT * FROM ${table} WHERE id = $1`, [Number.MAX_SAFE_INTEGER]);
      expect(rowCount).toBe(1);
      const row = rows[0]!;
      expect(row.id).toBe(Number.MAX_SAFE_INTEGER);
      expect(row.name).toBe('o\'neil "x" \\ \n ünï');
      expect(row.flag).toBe(true);
      expect(row.data).toBeInstanceOf(Uint8Array);
      expect([...(row.data as Uint8Array)]).toEqual([0, 1, 255]);
      expect(row.at).toEqual(at);
      expect(row.doc).toEqual(doc);
      expect(row.tags).toEqual(['a', 'b,c', 'd"e']);
      expect(row.amount).toBe('12.50');
    });

    it('reads arrays with NULL, quotes and backslashes, number and bigint arrays, and an object as json', async () => {
      const { rows } = await db.query<{ t: unknown; n: unknown; b: unknown; j: unknown }>(
        'SELECT $1::text[] AS t, $2::int8[] AS n, $3::int8[] AS b, $4::jsonb AS j',
        [['a\\b', null, '"q"', '{x}', ''], [1, -2, 3], [9_007_199_254_740_993n], { k: ['v', null, 1] }]);
      expect(rows[0]).toEqual({ t: ['a\\b', null, '"q"', '{x}', ''], n: [1, -2, 3], b: [9_007_199_254_740_993n], j: { k: ['v', null, 1] } });
    });

    it('returns int8 and count(*) as numbers, and int8 beyond 2^53 as bigint', async () => {
      const { rows } = await db.query<{ c: unknown; big: unknown; arr: unknown; nul: unknown }>(
        `SELECT count(*) AS c, 9007199254740993::int8 AS big, ARRAY[1, 2]::int8[] AS arr, NULL::int8 AS nul
         FROM ${table}`);
      expect(rows[0]).toEqual({ c: 1, big: 9007199254740993n, arr: [1, 2], nul: null });
    });

    it('reports affected rows for UPDATE and DELETE', async () => {
      await db.query(`INSERT INTO ${table} (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')`);
      expect((await db.query(`UPDATE ${table} SET flag = false WHERE id <= 3`)).rowCount).toBe(3);
      expect((await db.query(`DELETE FROM ${table} WHERE id IN (1, 2)`)).rowCount).toBe(2);
      expect((await db.query(`SELECT id FROM ${table} WHERE id = 1`)).rowCount).toBe(0);
    });

    it('commits a transaction that resolves and returns its value', async () => {
      const value = await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${counter} (name, n) VALUES ('commit', 1)`);
        return (await tx.query<{ n: number }>(`SELECT n FROM ${counter} WHERE name = 'commit'`)).rows[0]!.n;
      });
      expect(value).toBe(1);
      expect((await db.query(`SELECT n FROM ${counter} WHERE name = 'commit'`)).rows).toEqual([{ n: 1 }]);
    });

    it('rolls back a transaction whose work throws, and rethrows', async () => {
      await expect(db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${counter} (name, n) VALUES ('thrown', 1)`);
        throw new Error('boom');
      })).rejects.toThrow('boom');
      expect((await db.query(`SELECT * FROM ${counter} WHERE name = 'thrown'`)).rowCount).toBe(0);
    });

    it('rolls back on a unique violation and exposes the SQLSTATE code', async () => {
      const failure = await db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${counter} (name, n) VALUES ('dup', 1)`);
        await tx.query(`INSERT INTO ${counter} (name, n) VALUES ('dup', 2)`);
      }).then(() => undefined, (error: unknown) => error);
      expect((failure as { code?: string }).code).toBe('23505');
      expect((await db.query(`SELECT * FROM ${counter} WHERE name = 'dup'`)).rowCount).toBe(0);
      // The adapter is still usable after the failure (the client went back to the pool clean).
      expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });

    it('keeps concurrent read-modify-write transactions from losing updates', async () => {
      await db.query(`INSERT INTO ${counter} (name, n) VALUES ('race', 0)`);
      await Promise.all(Array.from({ length: 20 }, () => db.transaction(async (tx) => {
        const { rows } = await tx.query<{ n: number }>(`SELECT n FROM ${counter} WHERE name = 'race' FOR UPDATE`);
        await tx.query(`UPDATE ${counter} SET n = $1 WHERE name = 'race'`, [rows[0]!.n + 1]);
      })));
      expect((await db.query(`SELECT n FROM ${counter} WHERE name = 'race'`)).rows).toEqual([{ n: 20 }]);
    });

    it('commits a deferrable statement list like any other, all or nothing', async () => {
      const insert = (name: string, n: number) => ({ text: `INSERT INTO ${counter} (name, n) VALUES ($1, $2)`, values: [name, n] });
      expect(db.transactionOf).toBeDefined();
      const results = await db.transactionOf!([insert('late-a', 1), insert('late-b', 2), { text: `SELECT count(*) AS c FROM ${counter} WHERE name LIKE 'late-%'` }], { deferrable: true });
      expect(results[2]!.rows).toEqual([{ c: 2 }]);
      await expect(db.transactionOf!([insert('late-c', 3), insert('late-a', 4)], { deferrable: true })).rejects.toMatchObject({ code: '23505' });
      expect((await db.query(`SELECT name FROM ${counter} WHERE name LIKE 'late-%' ORDER BY name`)).rows).toEqual([{ name: 'late-a' }, { name: 'late-b' }]);
    });
  });
};
