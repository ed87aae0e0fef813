import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { SqlDatabase } from '../../domain/index.ts';
import { createPgliteDatabase } from '../pglite/index.ts';
import { createPostgresDatabase } from '../postgres/index.ts';
import { describeAccountStoreContract } from '../../test/contracts/index.ts';
import { ensureAccountSchema } from './accountSchema.ts';
import { createSqlAccountStore } from './sqlAccountStore.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describeAccountStoreContract('PostgreSQL', async () => {
  const db = await createPostgresDatabase({ url: inject('strataTestServices').postgresUrl });
  return { store: await createSqlAccountStore(db), close: () => db.close() };
});

describeAccountStoreContract('PGlite', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-accounts-'));
  dirs.push(dir);
  const db = await createPgliteDatabase({ dir });
  return { store: await createSqlAccountStore(db), close: () => db.close() };
});

describe('account schema', () => {
  it('can be applied by several processes at once and again later', async () => {
    const dbs: SqlDatabase[] = await Promise.all([1, 2, 3].map(() => createPostgresDatabase({ url: inject('strataTestServices').postgresUrl })));
    try {
      await Promise.all(dbs.map((db) => ensureAccountSchema(db)));
      await ensureAccountSchema(dbs[0]!);
      const { rows } = await dbs[0]!.query<{ n: number }>(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name IN ('users', 'devices', 'access_tokens', 'profile_fields', 'ui_auth_sessions', 'registration_nonces')",
      );
      expect(rows[0]?.n).toBeGreaterThanOrEqual(6);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});
