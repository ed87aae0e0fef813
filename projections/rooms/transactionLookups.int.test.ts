// Transaction-id lookups batched per tick, on real PostgreSQL: each caller gets its own answer,
// a device's null id matches only null, and the first event of a reused id wins.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDatabase } from '../../domain/index.ts';
import { openTestSchema, type TestSchema } from '../../test/harness/index.ts';
import { ROOMS_SCHEMA } from './schema.ts';
import { createTransactionLookup, transactionsOfDevice } from './transactionLookups.ts';

describe('transaction-id lookups on PostgreSQL', () => {
  let db: SqlDatabase;
  let testSchema: TestSchema | undefined;
  const statements: string[] = [];

  beforeAll(async () => {
    testSchema = await openTestSchema('txn_lookup_test', 2);
    db = testSchema.db;
    for (const statement of ROOMS_SCHEMA) await db.query(statement);
    const insert = (eventId: string, offset: number, roomId: string, userId: string, deviceId: string | null, txnId: string) => db.query(
      `INSERT INTO room_events (event_id, room_id, room_version, log_partition, log_offset, type, sender, origin_server_ts, depth, pdu,
         local_user_id, local_device_id, local_txn_id, accepted_at)
       VALUES ($1, $2, '12', 0, $3, 'm.room.message', $4, 0, $3, '{}'::jsonb, $4, $5, $6, 0)`,
      [eventId, roomId, offset, userId, deviceId, txnId]);
    await insert('$a1', 1, '!a', '@alice:hs', 'DEV', 't1');
    await insert('$a2', 2, '!a', '@alice:hs', 'DEV', 't1'); // the same id again: the first one answers
    await insert('$a3', 3, '!a', '@alice:hs', null, 't2');
    await insert('$b1', 4, '!b', '@bob:hs', 'BOB', 't1');
  });
  afterAll(() => testSchema?.drop());

  it('answers every lookup of a tick from one statement', async () => {
    const counting = {
      query: <Row>(text: string, values?: readonly unknown[]) => {
        statements.push(text);
        return db.query<Row extends Record<string, unknown> ? Row : never>(text, values as never);
      },
    } as unknown as SqlDatabase;
    const lookup = createTransactionLookup(counting);
    const answers = await Promise.all([
      lookup('!a', { userId: '@alice:hs', deviceId: 'DEV', txnId: 't1' }),
      lookup('!a', { userId: '@alice:hs', deviceId: 'OTHER', txnId: 't1' }),
      lookup('!a', { userId: '@alice:hs', deviceId: null, txnId: 't2' }),
      lookup('!a', { userId: '@alice:hs', deviceId: 'DEV', txnId: 't2' }),
      lookup('!b', { userId: '@bob:hs', deviceId: 'BOB', txnId: 't1' }),
      lookup('!a', { userId: '@bob:hs', deviceId: 'BOB', txnId: 't1' }),
    ]);
    expect(answers).toEqual(['$a1', undefined, '$a3', undefined, '$b1', undefined]);
    expect(statements).toHaveLength(1);
    expect(await lookup('!b', { userId: '@bob:hs', deviceId: 'BOB', txnId: 't1' })).toBe('$b1');
    expect(statements).toHaveLength(2);
  });

  it('reads all of a device\'s ids in a room at once, the first event of a reused id, or says there are more', async () => {
    expect(await transactionsOfDevice(db, '!a', '@alice:hs', 'DEV', 5)).toEqual({ byTxnId: new Map([['t1', '$a1']]), complete: true });
    expect(await transactionsOfDevice(db, '!a', '@alice:hs', null, 5)).toEqual({ byTxnId: new Map([['t2', '$a3']]), complete: true });
    expect(await transactionsOfDevice(db, '!a', '@bob:hs', 'BOB', 5)).toEqual({ byTxnId: new Map(), complete: true });
    // Two rows (t1 twice) for one allowed: incomplete.
    expect((await transactionsOfDevice(db, '!a', '@alice:hs', 'DEV', 1)).complete).toBe(false);
  });
});
