// Where /sync starts, held in memory (syncStarts.ts), against the statement it stands in for, on
// real PostgreSQL and on PGlite, fed by the real decider through the room writer: whatever memory
// answers must be what the database answers (a room's newest offset may only be over-stated), and
// after plain messages memory must answer.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RoomRequester, UserMembershipChange } from '../../domain/app/rooms/index.ts';
import { readModelBackends, startRoomsStack, type ReadModelBackend, type RoomsStack } from '../../test/harness/index.ts';
import { createSyncQueries } from './syncQueries.ts';

const alice: RoomRequester = { userId: '@alice:example.org', deviceId: 'A' };
const bob: RoomRequester = { userId: '@bob:example.org', deviceId: 'B' };
const carol: RoomRequester = { userId: '@carol:example.org', deviceId: 'C' };
const USERS = [alice, bob, carol].map((user) => user.userId);

const withoutLastOffsets = (changes: readonly UserMembershipChange[]) => changes.map(({ roomLastOffset: _last, ...change }) => change);

describe.each(Object.entries(readModelBackends('sync_starts_test')))('held /sync starting points on %s', (_name, backend: ReadModelBackend) => {
  let opened: Awaited<ReturnType<ReadModelBackend['open']>>;
  let stack: RoomsStack;
  beforeEach(async () => {
    opened = await backend.open();
    stack = await startRoomsStack({ db: opened.db });
    // As infra/userData/schema.ts creates it.
    await stack.db.query('CREATE TABLE IF NOT EXISTS stream_positions (stream TEXT PRIMARY KEY, position BIGINT NOT NULL)');
  });
  afterEach(async () => {
    await stack.close();
    await opened.drop();
  });

  /** Asks memory-backed and database-only reads for every user; answers how many memory held. */
  const compare = async (): Promise<number> => {
    const held = createSyncQueries(stack.db, stack.recent, stack.starts);
    const database = createSyncQueries(stack.db);
    let answered = 0;
    for (const userId of USERS) {
      if (stack.starts.held(userId) !== undefined) answered += 1;
      const fromMemory = await held.positionsWithMembershipChanges(userId);
      const fromDatabase = await database.positionsWithMembershipChanges(userId);
      expect(fromMemory.rooms).toEqual(fromDatabase.rooms);
      expect(fromMemory.streams).toEqual(fromDatabase.streams);
      expect(withoutLastOffsets(fromMemory.changes)).toEqual(withoutLastOffsets(fromDatabase.changes));
      fromMemory.changes.forEach((change, index) => {
        expect(change.roomLastOffset).toBeGreaterThanOrEqual(fromDatabase.changes[index]!.roomLastOffset!);
      });
    }
    return answered;
  };

  it('answers as the database does through joins, invites, leaves and messages, and from memory between memberships', async () => {
    expect(await compare()).toBe(0);
    const { roomId } = await stack.rooms.createRoom(alice, { room_version: '10', preset: 'public_chat' });
    await compare();
    await stack.rooms.join(bob, roomId);
    expect(await compare()).toBe(0);
    for (let i = 0; i < 5; i++) {
      await stack.rooms.sendMessage(i % 2 === 0 ? alice : bob, roomId, 'm.room.message', `t${i}`, { msgtype: 'm.text', body: `${i}` });
      expect(await compare()).toBe(USERS.length);
    }
    await stack.rooms.invite(alice, roomId, carol.userId);
    expect(await compare()).toBe(0);
    const second = await stack.rooms.createRoom(bob, { room_version: '11', preset: 'private_chat' });
    await compare();
    await stack.rooms.sendMessage(bob, second.roomId, 'm.room.message', 's1', { msgtype: 'm.text', body: 'second' });
    expect(await compare()).toBe(USERS.length);
    await stack.rooms.leave(bob, roomId);
    expect(await compare()).toBe(0);
    await stack.rooms.join(carol, roomId);
    await stack.rooms.sendMessage(carol, roomId, 'm.room.message', 'c1', { msgtype: 'm.text', body: 'hi' });
    await compare();
    await stack.rooms.sendMessage(alice, roomId, 'm.room.message', 'a9', { msgtype: 'm.text', body: 'again' });
    expect(await compare()).toBe(USERS.length);
    // A state change that is no membership forgets them too (it may be one, for all memory knows).
    await stack.rooms.putState(alice, roomId, 'm.room.topic', '', { topic: 'new' });
    expect(await compare()).toBe(0);
  });
});
