/**
 * A PostgreSQL schema of its own for one integration test file: its tables cannot meet another
 * run's, and it is dropped afterwards. `db` sees only that schema (search_path).
 */
import { inject } from 'vitest';
import type { SqlDatabase } from '../../domain/index.ts';
import { createPostgresDatabase } from '../../infra/postgres/index.ts';

export interface TestSchema {
  readonly db: SqlDatabase;
  /** Closes `db` and drops the schema. */
  drop(): Promise<void>;
}

/** `max` connections (1 keeps session settings such as `SET enable_seqscan` on every query). */
export const openTestSchema = async (prefix: string, max = 1): Promise<TestSchema> => {
  const url = inject('strataTestServices').postgresUrl;
  const schema = `${prefix}_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  const admin = await createPostgresDatabase({ url, max: 1 });
  await admin.query(`CREATE SCHEMA ${schema}`);
  const options = encodeURIComponent(`-c search_path=${schema}`);
  const db = await createPostgresDatabase({ url: `${url}${url.includes('?') ? '&' : '?'}options=${options}`, max });
  return {
    db,
    async drop() {
      await db.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
};
