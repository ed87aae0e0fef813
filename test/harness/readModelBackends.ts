/**
 * The two databases the read models run on, for tests that check a read model on both: real
 * PostgreSQL (a fresh schema) and PGlite (a fresh data directory). Each `open` gives an empty
 * database and a `drop` that removes it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { SqlDatabase } from '../../domain/index.ts';
import { createPgliteDatabase } from '../../infra/pglite/index.ts';
import { openTestSchema } from './postgresSchema.ts';

export interface ReadModelBackend {
  open(): Promise<{ db: SqlDatabase; drop(): Promise<void> }>;
}

/** Both backends by name; `prefix` names the PostgreSQL schema and the PGlite directory. */
export const readModelBackends = (prefix: string): { readonly PostgreSQL: ReadModelBackend; readonly PGlite: ReadModelBackend } => ({
  PostgreSQL: { open: () => openTestSchema(prefix, 4) },
  PGlite: {
    async open() {
      const dir = await mkdtemp(path.join(tmpdir(), `strata-${prefix}-pglite-`));
      const db = await createPgliteDatabase({ dir });
      return { db, drop: async () => { await db.close(); await rm(dir, { recursive: true, force: true }); } };
    },
  },
});
