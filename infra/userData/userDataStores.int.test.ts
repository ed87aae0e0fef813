import { randomUUID } from 'node:crypto';
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

describe('key counts', () => {
  it('are read once per device until a write of its keys, not once per /sync', async () => {
    const db = await createPostgresDatabase({ url: inject('strataTestServices').postgresUrl });
    const statements: string[] = [];
    const counted: SqlDatabase = {
      query: (sql, params) => { statements.push(sql); return db.query(sql, params); },
      transaction: (work) => { statements.push('BEGIN'); return db.transaction(work); },
      close: () => db.close(),
    };
    try {
      const { keys } = await createSqlUserDataStores(counted);
      const carol = `@carol-${randomUUID().slice(0, 8)}:example.org`;
      await keys.addOneTimeKeys(carol, 'CD', new Map([['signed_curve25519:A', { key: 'a' }]]));
      statements.length = 0;
      const reads = await Promise.all(Array.from({ length: 10 }, () => keys.keyCounts(carol, 'CD')));
      reads.push(await keys.keyCounts(carol, 'CD'));
      expect(reads.every((read) => read.oneTimeKeyCounts.signed_curve25519 === 1)).toBe(true);
      expect(statements).toHaveLength(1);
      await keys.claim(carol, 'CD', 'signed_curve25519');
      expect(await keys.keyCounts(carol, 'CD')).toEqual({ oneTimeKeyCounts: {}, unusedFallbackKeyTypes: [] });
      expect(statements).toHaveLength(3);
    } finally {
      await db.close();
    }
  });
});

describe('stream entries', () => {
  it('are written as one transaction sent at once (presence, receipts, account data, to-device), so a stream’s lock is never held across round trips', async () => {
    const db = await createPostgresDatabase({ url: inject('strataTestServices').postgresUrl });
    const calls: string[] = [];
    const counted: SqlDatabase = {
      query: (sql, params) => db.query(sql, params),
      transaction: (work) => { calls.push('transaction'); return db.transaction(work); },
      transactionOf: (statements, options) => { calls.push('transactionOf'); return db.transactionOf!(statements, options); },
      close: () => db.close(),
    };
    try {
      const stores = await createSqlUserDataStores(counted);
      const mallory = `@mallory-${randomUUID().slice(0, 8)}:example.org`;
      calls.length = 0;
      const presence = await stores.presence.set({ userId: mallory, presence: 'online', lastActiveTs: 1 });
      const receipt = await stores.receipts.put({ roomId: '!r:example.org', receiptType: 'm.read', userId: mallory, eventId: '$e', ts: 1 });
      await stores.accountData.update(mallory, '!r:example.org', 'm.fully_read', () => ({ event_id: '$e' }));
      await stores.toDevice.send({ userId: mallory, deviceId: 'M' }, 't1', 'm.test', [
        { userId: mallory, deviceId: 'A', content: { n: 1 } }, { userId: mallory, deviceId: 'B', content: { n: 2 } },
      ]);
      expect(calls).toEqual(['transactionOf', 'transactionOf', 'transactionOf', 'transactionOf']);
      expect(await stores.presence.get(mallory)).toMatchObject({ presence: 'online', position: presence });
      expect(await stores.presence.currentPosition()).toBeGreaterThanOrEqual(presence);
      expect(await stores.receipts.currentPosition()).toBeGreaterThanOrEqual(receipt);
    } finally {
      await db.close();
    }
  });
});

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
