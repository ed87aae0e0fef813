import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { SqlDatabase } from '../../domain/index.ts';
import { createPgliteDatabase } from '../pglite/index.ts';
import { createPostgresDatabase } from '../postgres/index.ts';
import { createSqlUserDataStores, ensureUserDataSchema } from './index.ts';
import { describeE2eeStoresContract } from '../../test/contracts/index.ts';
import { describePusherStoreContract } from '../../test/contracts/index.ts';
import { describeUserDataStoresContract, type OpenedStores } from '../../test/contracts/index.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const openPostgres = async (): Promise<OpenedStores> => {
  const db = await createPostgresDatabase({ url: inject('strataTestServices').postgresUrl, max: 20 });
  return { stores: await createSqlUserDataStores(db), close: () => db.close() };
};

const openPglite = async (): Promise<OpenedStores> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-userdata-'));
  dirs.push(dir);
  const db = await createPgliteDatabase({ dir });
  return { stores: await createSqlUserDataStores(db), close: () => db.close() };
};

describeUserDataStoresContract('PostgreSQL', openPostgres);
describeUserDataStoresContract('PGlite', openPglite);
describeE2eeStoresContract('PostgreSQL', openPostgres);
describeE2eeStoresContract('PGlite', openPglite);
describePusherStoreContract('PostgreSQL', openPostgres);
describePusherStoreContract('PGlite', openPglite);

describe('user data schema', () => {
  it('can be applied by several processes at once and again later', async () => {
    const url = inject('strataTestServices').postgresUrl;
    const dbs: SqlDatabase[] = await Promise.all([1, 2, 3].map(() => createPostgresDatabase({ url })));
    try {
      await Promise.all(dbs.map((db) => ensureUserDataSchema(db)));
      await ensureUserDataSchema(dbs[0]!);
      const { rows } = await dbs[0]!.query<{ n: number }>(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name IN ('account_data', 'receipts', 'to_device_inbox', 'e2e_one_time_keys', 'presence')",
      );
      expect(rows[0]?.n).toBeGreaterThanOrEqual(5);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});
