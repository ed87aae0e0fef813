// Erasure and retention reach the search projection's rows (projections/search): the vectors hold
// an event's words, so an erased user's messages and purged messages leave no row there, on PGlite
// and on PostgreSQL; a database without the search table is left alone.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqlDatabase } from '../../domain/index.ts';
import type { RoomRequester } from '../../domain/app/rooms/index.ts';
import { searchProjection } from '../../projections/search/index.ts';
import { startProjection, type RunningProjection } from '../../projections/runtime/index.ts';
import { openTestSchema, startRoomsStack, type RoomsStack } from '../../test/harness/index.ts';
import { createPgliteDatabase } from '../pglite/index.ts';
import { createSqlErasureReadModel } from './sqlErasure.ts';

const alice: RoomRequester = { userId: '@alice:example.org', deviceId: 'A' };
const bob: RoomRequester = { userId: '@bob:example.org', deviceId: 'B' };

const backends: Record<string, () => Promise<{ db: SqlDatabase; drop(): Promise<void> }>> = {
  PGlite: async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-search-erasure-'));
    const db = await createPgliteDatabase({ dir });
    return { db, drop: async () => { await db.close(); await rm(dir, { recursive: true, force: true }); } };
  },
  PostgreSQL: () => openTestSchema('search_erasure_test', 4),
};

describe.each(Object.entries(backends))('search rows under erasure and retention on %s', (_name, open) => {
  let opened: Awaited<ReturnType<(typeof backends)['PGlite']>>;
  let stack: RoomsStack;
  let search: RunningProjection | undefined;
  beforeEach(async () => {
    opened = await open();
    stack = await startRoomsStack({ db: opened.db });
  });
  afterEach(async () => {
    await search?.stop();
    search = undefined;
    await stack.close();
    await opened.drop();
  });

  const searchRows = async (): Promise<string[]> =>
    (await opened.db.query<{ event_id: string }>('SELECT event_id FROM search_events ORDER BY event_id')).rows.map((row) => row.event_id);

  it('deletes the rows of an erased user\'s events but those kept, and of purged events', async () => {
    search = await startProjection({ projection: searchProjection, log: stack.log, db: opened.db });
    const { rooms, queries } = stack;
    const { roomId } = await rooms.createRoom(alice, { preset: 'public_chat', topic: 'kept topic' });
    await rooms.join(bob, roomId);
    const secret = await rooms.sendMessage(alice, roomId, 'm.room.message', 'a1', { msgtype: 'm.text', body: 'alice secret' });
    const old = await rooms.sendMessage(bob, roomId, 'm.room.message', 'b1', { msgtype: 'm.text', body: 'old words' });
    const last = await rooms.sendMessage(bob, roomId, 'm.room.message', 'b2', { msgtype: 'm.text', body: 'newest words' });
    const lastEvent = (await queries.event(last))!;
    expect(await search.waitFor(lastEvent.partition, lastEvent.offset, 10_000)).toBe(true);
    const topic = (await queries.stateEvent(roomId, 'm.room.topic', ''))!.eventId;
    expect(await searchRows()).toEqual([secret, old, last, topic].sort());

    const erasure = createSqlErasureReadModel(opened.db);
    await erasure.stripContentSentBy(alice.userId, await erasure.currentStateSentBy(alice.userId));
    expect(await searchRows()).toEqual([old, last, topic].sort());
    // Bob's newest message is the room's last event: never purged.
    expect(await erasure.purgeBefore(roomId, Date.now() + 1000, 100)).toContain(old);
    expect(await searchRows()).toEqual([last, topic].sort());
  });

  it('leaves a database without the search table alone', async () => {
    await stack.rooms.createRoom(alice, { preset: 'public_chat' });
    const erasure = createSqlErasureReadModel(opened.db);
    expect(await erasure.stripContentSentBy(alice.userId, [])).toBeGreaterThan(0);
  });
});
