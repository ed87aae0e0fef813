import { describe, expect, inject, it } from 'vitest';
import { createPostgresDatabase } from './postgresDatabase.ts';
import { describeSqlDatabaseContract } from './sqlDatabaseContract.ts';

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
});
