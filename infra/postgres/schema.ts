/**
 * Creating a store's tables: its idempotent statements in one transaction, behind an advisory lock
 * named after the store, so processes starting together (or a test and a server) do not race on
 * `CREATE … IF NOT EXISTS`. The same SQL serves PostgreSQL and PGlite.
 */
import type { SqlDatabase } from '../../domain/index.ts';

export const applySchema = (db: SqlDatabase, lockName: string, statements: readonly string[]): Promise<void> =>
  db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockName]);
    for (const statement of statements) await tx.query(statement);
  });
