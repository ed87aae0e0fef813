import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeSqlDatabaseContract } from '../../test/contracts/index.ts';
import { createPgliteDatabase } from './pgliteDatabase.ts';
import { PREPARED_STATEMENTS } from './pipeline.ts';

const dirs: string[] = [];
const freshDir = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-pglite-'));
  dirs.push(dir);
  return dir;
};
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeSqlDatabaseContract('PGlite', async () => createPgliteDatabase({ dir: await freshDir() }));

describe('PGlite specifics', () => {
  it('keeps committed rows in its directory across a reopen', async () => {
    const dir = await freshDir();
    const first = await createPgliteDatabase({ dir });
    await first.query('CREATE TABLE kept (id int PRIMARY KEY)');
    await first.transaction(async (tx) => {
      await tx.query('INSERT INTO kept VALUES (1), (2)');
    });
    await first.close();
    const second = await createPgliteDatabase({ dir });
    expect((await second.query('SELECT id FROM kept ORDER BY id')).rows).toEqual([{ id: 1 }, { id: 2 }]);
    await second.close();
  });

  it('fails fast instead of deadlocking when the database is used inside its own transaction', async () => {
    const db = await createPgliteDatabase({ dir: await freshDir() });
    await expect(db.transaction(async () => db.query('SELECT 1'))).rejects.toThrow(/inside a transaction/);
    await expect(db.transaction(async () => db.transaction(async () => 1))).rejects.toThrow(/inside a transaction/);
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await db.close();
  });

  it('does not let a plain query see a transaction half-way', async () => {
    const db = await createPgliteDatabase({ dir: await freshDir() });
    await db.query('CREATE TABLE pair (a int, b int)');
    await db.query('INSERT INTO pair VALUES (0, 0)');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    const writer = db.transaction(async (tx) => {
      await tx.query('UPDATE pair SET a = 1');
      await gate;
      await tx.query('UPDATE pair SET b = 1');
    });
    const reader = db.query('SELECT a, b FROM pair');
    release();
    await writer;
    expect((await reader).rows).toEqual([{ a: 1, b: 1 }]);
    await db.close();
  });

  it('refuses a statement issued while it closes as closed, not as a crashed worker', async () => {
    const db = await createPgliteDatabase({ dir: await freshDir() });
    await db.query('SELECT 1');
    const closing = db.close();
    // Settled into a value at once: it rejects while `closing` is awaited, before any expect could listen.
    const late = db.query('SELECT 2').then(() => 'answered', (error: unknown) => (error as Error).message);
    await closing;
    expect(await late).toContain('PGlite is closed');
  });

  it('runs statements off the event loop: a timer set after a long statement was issued fires before its result', async () => {
    const db = await createPgliteDatabase({ dir: await freshDir() });
    const order: string[] = [];
    const statement = db.query('SELECT count(*) AS n FROM generate_series(1, 2000000) AS s(i) WHERE i % 7 = 0')
      .then((result) => order.push(`result ${String(result.rows[0]?.n)}`));
    await new Promise<void>((resolve) => setTimeout(() => { order.push('timer'); resolve(); }, 0));
    await statement;
    expect(order).toEqual(['timer', 'result 285714']);
    await db.close();
  });

  it('returns json and jsonb parsed, in plain statements, transactions and statement lists alike', async () => {
    const db = await createPgliteDatabase({ dir: await freshDir() });
    const text = `SELECT '{"a":[1,{"b":null}]}'::json AS j, 'null'::jsonb AS n, NULL::jsonb AS missing, '"s"'::jsonb AS s,
      '[{"x":1}]'::jsonb -> 0 AS picked, '{"t":"u"}'::text AS plain`;
    const expected = { j: { a: [1, { b: null }] }, n: null, missing: null, s: 's', picked: { x: 1 }, plain: '{"t":"u"}' };
    expect((await db.query(text)).rows).toEqual([expected]);
    expect(await db.transaction(async (tx) => (await tx.query(text)).rows)).toEqual([expected]);
    expect((await db.transactionOf!([{ text }]))[0]!.rows).toEqual([expected]);
    await db.close();
  });

  it('runs a list of statements as one transaction, or rejects with the cause and keeps none', async () => {
    const db = await createPgliteDatabase({ dir: await freshDir() });
    await db.query('CREATE TABLE together (n int8 PRIMARY KEY)');
    const insert = (n: number) => ({ text: 'INSERT INTO together (n) VALUES ($1) RETURNING n', values: [n] });
    const results = await db.transactionOf!([insert(1), insert(2), { text: 'SELECT count(*) AS c FROM together' },
      { text: 'SET LOCAL synchronous_commit TO off' }]);
    expect(results.map((result) => result.rows[0])).toEqual([{ n: 1 }, { n: 2 }, { c: 2 }, undefined]);
    // Each statement's own count: a command without one counts no rows, whatever came before it.
    expect(results.map((result) => result.rowCount)).toEqual([1, 1, 1, 0]);
    const failure = await db.transactionOf!([insert(3), insert(1), insert(4)]).then(() => undefined, (error: unknown) => error);
    expect(failure).toBeInstanceOf(Error);
    expect((failure as { code?: string }).code).toBe('23505');
    expect((await db.query('SELECT n FROM together ORDER BY n')).rows).toEqual([{ n: 1 }, { n: 2 }]);
    await db.close();
  });

  it('answers a statement again after a table it reads changed shape under its prepared plan', async () => {
    const db = await createPgliteDatabase({ dir: await freshDir() });
    await db.query('CREATE TABLE shape (a int)');
    await db.query('INSERT INTO shape VALUES (1)');
    const select = () => db.query('SELECT * FROM shape');
    expect((await select()).rows).toEqual([{ a: 1 }]);
    expect((await select()).rows).toEqual([{ a: 1 }]);
    await db.query('ALTER TABLE shape ADD COLUMN b int DEFAULT 2');
    expect((await select()).rows).toEqual([{ a: 1, b: 2 }]);
    expect((await db.transactionOf!([{ text: 'SELECT * FROM shape' }]))[0]!.rows).toEqual([{ a: 1, b: 2 }]);
    await db.close();
  });

  it('keeps answering the same statements after a failed list, and beyond the prepared statements it keeps', async () => {
    const db = await createPgliteDatabase({ dir: await freshDir() });
    await db.query('CREATE TABLE kept_once (n int PRIMARY KEY)');
    const insert = (n: number) => ({ text: 'INSERT INTO kept_once (n) VALUES ($1)', values: [n] });
    const fresh = { text: 'SELECT count(*) AS c FROM kept_once WHERE n > $1', values: [0] };
    // The failure comes before a statement never prepared, whose Parse PostgreSQL then skips.
    await expect(db.transactionOf!([insert(1), insert(1), fresh])).rejects.toMatchObject({ code: '23505' });
    await expect(db.query('SELECT bad syntax here')).rejects.toMatchObject({ code: '42601' });
    expect((await db.transactionOf!([insert(1), fresh]))[1]!.rows).toEqual([{ c: 1 }]);
    expect((await db.query(fresh.text, fresh.values)).rows).toEqual([{ c: 1 }]);
    // More distinct statements than are kept prepared: the oldest are closed and prepared again.
    for (let k = 0; k < PREPARED_STATEMENTS + 20; k++) {
      expect((await db.query(`SELECT $1::int + ${k} AS v`, [1])).rows).toEqual([{ v: 1 + k }]);
    }
    expect((await db.query('SELECT $1::int + 0 AS v', [5])).rows).toEqual([{ v: 5 }]);
    expect((await db.query(fresh.text, [0])).rows).toEqual([{ c: 1 }]);
    await db.close();
  });

  it('runs a deferrable statement list after the requests that arrived while it waited', async () => {
    const dir = await freshDir();
    const db = await createPgliteDatabase({ dir });
    await db.query('CREATE TABLE late (n int)');
    const order: string[] = [];
    // The worker is busy with the first; the other three wait in its queue, the deferrable first.
    const done = [
      db.query('SELECT count(*) FROM generate_series(1, 1000000)').then(() => order.push('busy')),
      db.transactionOf!([{ text: 'INSERT INTO late VALUES (1)' }], { deferrable: true }).then(() => order.push('deferrable')),
      db.query('SELECT count(*) AS c FROM late').then(({ rows }) => order.push(`plain saw ${String(rows[0]!.c)}`)),
      db.transactionOf!([{ text: 'INSERT INTO late VALUES (2)' }]).then(() => order.push('list')),
    ];
    await Promise.all(done);
    expect(order).toEqual(['busy', 'plain saw 0', 'list', 'deferrable']);
    // A close behind a deferrable batch lets it run first.
    const last = db.transactionOf!([{ text: 'INSERT INTO late VALUES (3)' }], { deferrable: true });
    await db.close();
    await expect(last).resolves.toHaveLength(1);
    const reopened = await createPgliteDatabase({ dir });
    expect((await reopened.query('SELECT n FROM late ORDER BY n')).rows).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    await reopened.close();
  });

  it('answers U+0000 in text as M_BAD_JSON, and refuses statements once closed', async () => {
    const db = await createPgliteDatabase({ dir: await freshDir() });
    await expect(db.query('SELECT $1::jsonb AS j', ['{"a":"\\u0000"}'])).rejects.toMatchObject({ errcode: 'M_BAD_JSON' });
    await db.close();
    await expect(db.query('SELECT 1')).rejects.toThrow(/closed/);
    await db.close();
  });
});
