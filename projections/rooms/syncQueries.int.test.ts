// The sync read model's combined first statement on real PostgreSQL: the positions and the user's
// membership changes below them must be what the two separate reads answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlDatabase, SqlExecutor } from '../../domain/index.ts';
import { openTestSchema, type TestSchema } from '../../test/harness/index.ts';
import { POSITIONS_SCHEMA } from '../runtime/index.ts';
import { ROOMS_SCHEMA } from './schema.ts';
import { createSyncQueries } from './syncQueries.ts';

describe('sync positions with membership changes on PostgreSQL', () => {
  let db: SqlDatabase;
  let testSchema: TestSchema | undefined;

  beforeAll(async () => {
    testSchema = await openTestSchema('sync_test');
    db = testSchema.db;
    for (const statement of ROOMS_SCHEMA) await db.query(statement);
    await db.query(POSITIONS_SCHEMA);
    // As infra/userData/schema.ts creates it.
    await db.query('CREATE TABLE stream_positions (stream TEXT PRIMARY KEY, position BIGINT NOT NULL)');
  });
  afterAll(() => testSchema?.drop());

  const member = async (roomId: string, partition: number, offset: number, userId: string, membership: string) => {
    const eventId = `$${roomId}-${offset}`;
    const pdu = { type: 'm.room.member', sender: userId, state_key: userId, room_id: roomId, content: { membership } };
    await db.query(
      `INSERT INTO room_events (event_id, room_id, room_version, log_partition, log_offset, type, state_key, sender, origin_server_ts,
         depth, pdu, accepted_at)
       VALUES ($1, $2, '12', $3, $4, 'm.room.member', $5, $5, $4, $4, $6, $4)`, [eventId, roomId, partition, offset, userId, JSON.stringify(pdu)]);
    await db.query(
      `INSERT INTO room_state_changes (room_id, log_offset, type, state_key, event_id, replaces) VALUES ($1, $2, 'm.room.member', $3, $4, NULL)`,
      [roomId, offset, userId, eventId]);
  };

  it('answers the positions alone while nothing was applied', async () => {
    const sync = createSyncQueries(db);
    expect(await sync.positionsWithMembershipChanges('@u:x')).toEqual({ ...(await sync.positions()), changes: [] });
    expect((await sync.positions()).rooms.size).toBe(0);
  });

  it('answers what positions() and membershipChanges() below them answer, in one statement', async () => {
    for (const [roomId, partition, last] of [['!a:x', 0, 12], ['!b:x', 1, 4]] as const) {
      await db.query(
        `INSERT INTO rooms (room_id, room_version, creator, log_partition, last_offset, forward_extremities, max_depth)
         VALUES ($1, '12', '@c:x', $2, $3, '[]', 1)`, [roomId, partition, last]);
    }
    await member('!a:x', 0, 2, '@u:x', 'join');
    await member('!a:x', 0, 12, '@u:x', 'leave'); // past the rooms projection's position: not yet applied for /sync
    await member('!b:x', 1, 3, '@u:x', 'invite');
    await member('!b:x', 1, 4, '@u:x', 'join');
    await member('!b:x', 1, 1, '@other:x', 'join');
    await db.query(`INSERT INTO projection_positions (projection, topic, partition, next_offset, version)
      VALUES ('rooms', 't', 0, 10, 1), ('rooms', 't', 1, 5, 1), ('other', 't', 0, 99, 1)`);
    await db.query(`INSERT INTO stream_positions (stream, position) VALUES ('receipts', 7), ('account_data', 3)`);
    const sync = createSyncQueries(db);
    const combined = await sync.positionsWithMembershipChanges('@u:x');
    const positions = await sync.positions();
    expect(combined.rooms).toEqual(new Map([[0, 10], [1, 5]]));
    expect(combined.streams).toEqual({ accountData: 3, receipts: 7, toDevice: 0, deviceLists: 0, presence: 0 });
    expect(combined).toEqual({ ...positions, changes: await sync.membershipChanges('@u:x', positions.rooms) });
    expect(combined.changes.map((change) => [change.roomId, change.offset, change.membership, change.roomLastOffset])).toEqual([
      ['!a:x', 2, 'join', 12], ['!b:x', 3, 'invite', 4], ['!b:x', 4, 'join', 4],
    ]);
    expect((await sync.positionsWithMembershipChanges('@nobody:x')).changes).toEqual([]);
  });

  it('reads an unread window for nobody in particular: every event, the user\'s own messages included', async () => {
    for (const [offset, sender] of [[20, '@u:x'], [21, '@other:x']] as const) {
      const pdu = { type: 'm.room.message', sender, room_id: '!c:x', content: { body: 'hi' } };
      await db.query(
        `INSERT INTO room_events (event_id, room_id, room_version, log_partition, log_offset, type, state_key, sender, origin_server_ts,
           depth, pdu, accepted_at)
         VALUES ($1, '!c:x', '12', 0, $2, 'm.room.message', NULL, $3, $2, $2, $4, $2)`, [`$c-${offset}`, offset, sender, JSON.stringify(pdu)]);
    }
    const sync = createSyncQueries(db);
    const offsets = async (userId: string | null) => (await sync.unreadWindow('!c:x', userId, 0, 100, false, 500)).events.map((e) => e.offset);
    expect(await offsets(null)).toEqual([20, 21]);
    expect(await offsets('@u:x')).toEqual([21]);
    await expect(sync.unreadWindow('!c:x', null, 0, 100, true)).rejects.toThrow(/a user's/);
  });

  it('answers the users asking in one turn (the listeners one commit woke) with one statement and one snapshot', async () => {
    const single = createSyncQueries(db);
    const alone = new Map<string, Awaited<ReturnType<typeof single.positionsWithMembershipChanges>>>();
    for (const userId of ['@u:x', '@other:x', '@nobody:x']) alone.set(userId, await single.positionsWithMembershipChanges(userId));
    let statements = 0;
    const sync = createSyncQueries({ query: (text, values) => { statements += 1; return db.query(text, values); } } as SqlExecutor);
    const answers = await Promise.all(['@u:x', '@other:x', '@u:x', '@nobody:x'].map((userId) => sync.positionsWithMembershipChanges(userId)));
    expect(statements).toBe(1);
    expect(answers).toEqual([alone.get('@u:x'), alone.get('@other:x'), alone.get('@u:x'), alone.get('@nobody:x')]);
    expect(answers[1]!.changes.map((change) => [change.roomId, change.offset, change.membership])).toEqual([['!b:x', 1, 'join']]);
    // The next turn reads afresh.
    await sync.positionsWithMembershipChanges('@u:x');
    expect(statements).toBe(2);
  });
});
