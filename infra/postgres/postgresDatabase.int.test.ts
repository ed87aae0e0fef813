import { describe, expect, inject, it } from 'vitest';
import { createPostgresDatabase } from './postgresDatabase.ts';
import { describeSqlDatabaseContract } from '../../test/contracts/index.ts';

describeSqlDatabaseContract('PostgreSQL (pg)', () => createPostgresDatabase({ url: inject('strataTestServices').postgresUrl, max: 5 }));

describe('createPostgresDatabase', () => {
  it('names host:port but never the password when the server is unreachable', async () => {
    // Port 1 on loopback refuses connections at once.
    const failure = await createPostgresDatabase({ url: 'postgres://strata:s3cret-pw@127.0.0.1:1/strata' })
      .then(() => undefined, (error: unknown) => error as Error);
    expect(failure).toBeInstanceOf(Error);
    expect(failure!.message).toContain('127.0.0.1:1');
    expect(failure!.message).not.toContain('s3cret-pw');
  });

  it('runs transactions on one client: a session setting made in one is visible in its later statements', async () => {
    const db = await createPostgresDatabase({ url: inject('strataTestServices').postgresUrl, max: 4 });
    const seen = await db.transaction(async (tx) => {
      await tx.query("SET LOCAL application_name = 'strata-tx-check'");
      const pids = new Set<number>();
      for (let i = 0; i < 8; i++) {
        const { rows } = await tx.query<{ pid: number; app: string }>(
          "SELECT pg_backend_pid() AS pid, current_setting('application_name') AS app");
        pids.add(rows[0]!.pid);
        expect(rows[0]!.app).toBe('strata-tx-check');
      }
      return pids.size;
    });
    expect(seen).toBe(1);
    await db.close();
  });

  it('pipelines the statements a transaction issues together, answering each in order', async () => {
    const db = await createPostgresDatabase({ url: inject('strataTestServices').postgresUrl, max: 2 });
    const table = `pipelined_${process.pid}_${Date.now() % 1_000_000}`;
    await db.query(`CREATE TABLE ${table} (n int8 NOT NULL)`);
    try {
      const answers = await db.transaction(async (tx) => Promise.all(Array.from({ length: 30 }, (_, i) =>
        tx.query<{ before: number }>(`INSERT INTO ${table} (n) VALUES ($1) RETURNING (SELECT count(*) FROM ${table}) AS before`, [i]))));
      // Each statement saw exactly the rows of the statements issued before it.
      expect(answers.map((answer) => answer.rows[0]!.before)).toEqual(Array.from({ length: 30 }, (_, i) => i));
      expect((await db.query(`SELECT count(*) AS c FROM ${table}`)).rows).toEqual([{ c: 30 }]);
    } finally {
      await db.query(`DROP TABLE ${table}`);
      await db.close();
    }
  });

  it('runs a list of statements as one transaction sent at once, or rejects with the cause and keeps none', async () => {
    const db = await createPostgresDatabase({ url: inject('strataTestServices').postgresUrl, max: 2 });
    const table = `together_${process.pid}_${Date.now() % 1_000_000}`;
    await db.query(`CREATE TABLE ${table} (n int8 PRIMARY KEY)`);
    try {
      const insert = (n: number) => ({ text: `INSERT INTO ${table} (n) VALUES ($1) RETURNING n`, values: [n] });
      const results = await db.transactionOf!([insert(1), insert(2), { text: `SELECT count(*) AS c FROM ${table}` }]);
      expect(results.map((result) => result.rows[0])).toEqual([{ n: 1 }, { n: 2 }, { c: 2 }]);
      const failure = await db.transactionOf!([insert(3), insert(1), insert(4)]).then(() => undefined, (error: unknown) => error);
      expect((failure as { code?: string }).code).toBe('23505');
      expect((await db.query(`SELECT n FROM ${table} ORDER BY n`)).rows).toEqual([{ n: 1 }, { n: 2 }]);
      // The client went back to the pool usable.
      expect((await db.transactionOf!([insert(5)]))[0]!.rows).toEqual([{ n: 5 }]);
    } finally {
      await db.query(`DROP TABLE ${table}`);
      await db.close();
    }
  });

  it('does not report a commit when the server rolled the transaction back', async () => {
    const db = await createPostgresDatabase({ url: inject('strataTestServices').postgresUrl, max: 2 });
    const table = `aborted_${process.pid}_${Date.now() % 1_000_000}`;
    await db.query(`CREATE TABLE ${table} (n int8 PRIMARY KEY)`);
    try {
      // The work swallows its statement's error, so only the COMMIT (answered ROLLBACK) tells.
      const outcome = db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ${table} (n) VALUES (1)`);
        await tx.query(`INSERT INTO ${table} (n) VALUES (1)`).catch(() => undefined);
        return 'committed';
      });
      await expect(outcome).rejects.toThrow(/ROLLBACK/);
      expect((await db.query(`SELECT count(*) AS c FROM ${table}`)).rows).toEqual([{ c: 0 }]);
    } finally {
      await db.query(`DROP TABLE ${table}`);
      await db.close();
    }
  });

  it('survives its connections being terminated (57P01) while checked out, and reconnects', async () => {
    const db = await createPostgresDatabase({ url: inject('strataTestServices').postgresUrl, max: 2, transactionMax: 1 });
    const crashes: unknown[] = [];
    const onUncaught = (error: unknown): void => { crashes.push(error); };
    process.on('uncaughtException', onUncaught);
    try {
      // The server ends this transaction's connection between two statements, as a restart does.
      const failure = await db.transaction(async (tx) => {
        const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
        await db.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        await new Promise((resolve) => setTimeout(resolve, 200));
        return tx.query('SELECT 1');
      }).then(() => undefined, (error: unknown) => error as Error);
      expect(failure).toBeInstanceOf(Error);
      // Plain queries' connections too, while idle in the pool.
      const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      await db.transaction((tx) => tx.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(crashes).toEqual([]);
      // Both pools open fresh connections.
      expect((await db.transaction((tx) => tx.query('SELECT 1 AS one'))).rows).toEqual([{ one: 1 }]);
      for (let i = 0; i < 3; i++) expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await db.close();
    }
  });
});
