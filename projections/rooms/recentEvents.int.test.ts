// The newest events held in memory (recentEvents.ts) against the SQL reads they stand in for, on
// real PostgreSQL and on PGlite, fed by the real decider through the room writer: whatever the held
// events answer must be exactly what the database answers, and the reads /sync makes after plain
// messages must be answered.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../domain/index.ts';
import type { EventFilter, MessagesQuery, OffsetRange, RoomRequester } from '../../domain/app/rooms/index.ts';
import { readModelBackends, startRoomsStack, type ReadModelBackend, type RoomsStack } from '../../test/harness/index.ts';
import { createSyncQueries } from './syncQueries.ts';

const alice: RoomRequester = { userId: '@alice:example.org', deviceId: 'A' };
const bob: RoomRequester = { userId: '@bob:example.org', deviceId: 'B' };


const FILTERS: (EventFilter | undefined)[] = [
  undefined, { types: ['m.room.message'] }, { types: ['m.room.*'] }, { types: ['*.ping', 'm.room.message'] }, { types: [] },
  { notTypes: ['m.room.member'] }, { notTypes: ['org.*'] }, { senders: [alice.userId] }, { notSenders: [bob.userId] },
  { containsUrl: true }, { containsUrl: false }, { types: ['m.room.message'], notSenders: [alice.userId], containsUrl: false },
];

describe.each(Object.entries(readModelBackends('recent_events_test')))('held newest events on %s', (_name, backend: ReadModelBackend) => {
  let opened: Awaited<ReturnType<ReadModelBackend['open']>>;
  let stack: RoomsStack;
  beforeEach(async () => {
    opened = await backend.open();
    stack = await startRoomsStack({ db: opened.db });
  });
  afterEach(async () => {
    await stack.close();
    await opened.drop();
  });

  /** Every offset of the room's timeline, oldest first, and the end of what was observed. */
  const timeline = async (roomId: string) => {
    const events = (await stack.queries.messages(roomId, { dir: 'b', from: Number.MAX_SAFE_INTEGER, limit: 10_000 })).reverse();
    return { offsets: events.map((e) => e.offset), end: events[events.length - 1]!.offset + 1 };
  };

  /**
   * Compares every held answer of many reads with the database's; answers how many were held.
   * The bounds run over every offset of the room (and just past them), as /sync and /messages ask.
   */
  const compare = async (roomId: string): Promise<{ held: number; asked: number }> => {
    const sync = createSyncQueries(stack.db);
    const { offsets, end } = await timeline(roomId);
    const bounds = [...new Set([...offsets, ...offsets.map((o) => o + 1)])].filter((o) => o <= end);
    let held = 0;
    let asked = 0;
    const tail = bounds.slice(-8);
    for (const from of tail) {
      for (const to of [undefined, ...tail.filter((o) => o < from)]) {
        for (const limit of [1, 3, 1001]) {
          const visibles: (OffsetRange[] | undefined)[] = [undefined, [{ from: tail[0]!, to: end }], [{ from: tail[0]!, to: tail[2]! }, { from: tail[4]!, to: end }]];
          for (const filter of FILTERS) {
            for (const visible of visibles) {
              const query: MessagesQuery = { dir: 'b', from, limit, ...(to === undefined ? {} : { to }), ...(filter === undefined ? {} : { filter }), ...(visible === undefined ? {} : { visible }) };
              asked += 1;
              const answer = stack.recent.messages(roomId, query);
              if (answer === undefined) continue;
              held += 1;
              expect(answer, JSON.stringify(query)).toEqual(await stack.queries.messages(roomId, query));
            }
          }
        }
      }
      for (const after of [-1, ...tail.filter((o) => o < from)]) {
        for (const userId of [null, alice.userId, bob.userId]) {
          for (const limit of [undefined, 1, 3]) {
            asked += 1;
            const answer = stack.recent.unreadWindow(roomId, userId, after, from, limit);
            if (answer === undefined) continue;
            held += 1;
            expect(answer, JSON.stringify({ after, from, userId, limit })).toEqual((await sync.unreadWindow(roomId, userId, after, from, false, limit)).events);
          }
        }
      }
    }
    return { held, asked };
  };

  const sendPlain = async (roomId: string, prefix: string, count: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const who = i % 2 === 0 ? alice : bob;
      const content: JsonObject = i % 3 === 0 ? { msgtype: 'm.image', body: `pic ${i}`, url: 'mxc://example.org/p' } : { msgtype: 'm.text', body: `${prefix} ${i}` };
      ids.push(await stack.rooms.sendMessage(who, roomId, i % 5 === 4 ? 'org.example.ping' : 'm.room.message', `${prefix}${i}`, content));
    }
    return ids;
  };

  it('answers timeline pages and unread windows after plain messages exactly as the database does', async () => {
    const { roomId } = await stack.rooms.createRoom(alice, { room_version: '10', preset: 'public_chat' });
    await stack.rooms.join(bob, roomId);
    await sendPlain(roomId, 'a', 10);
    const { held, asked } = await compare(roomId);
    expect(held).toBeGreaterThan(asked / 3);
    // The read a listener's wake-up makes: the newest page above its last position.
    const { offsets, end } = await timeline(roomId);
    const query: MessagesQuery = { dir: 'b', from: end, to: offsets[offsets.length - 3]!, limit: 1001, filter: { types: ['m.room.message'] } };
    expect(stack.recent.messages(roomId, query)).toEqual(await stack.queries.messages(roomId, query));
    expect(stack.recent.unreadWindow(roomId, bob.userId, offsets[offsets.length - 4]!, end, 100)?.length).toBeGreaterThan(0);
  });

  it('holds nothing a later record changed: state, edits, reactions and redactions start the room again after themselves', async () => {
    const { roomId } = await stack.rooms.createRoom(alice, { room_version: '10', preset: 'public_chat' });
    await stack.rooms.join(bob, roomId);
    const [first, second] = await sendPlain(roomId, 'b', 6);
    await stack.rooms.sendMessage(bob, roomId, 'm.room.message', 'edit', {
      msgtype: 'm.text', body: '* edited', 'm.new_content': { msgtype: 'm.text', body: 'edited' }, 'm.relates_to': { rel_type: 'm.replace', event_id: first },
    });
    await sendPlain(roomId, 'c', 4);
    await stack.rooms.sendMessage(alice, roomId, 'm.reaction', 'react', { 'm.relates_to': { rel_type: 'm.annotation', event_id: second, key: '👍' } });
    await sendPlain(roomId, 'd', 4);
    await stack.rooms.redact(alice, roomId, second!, 'redact');
    await sendPlain(roomId, 'e', 3);
    await stack.rooms.putState(alice, roomId, 'm.room.name', '', { name: 'Named' });
    await sendPlain(roomId, 'f', 5);
    const { held } = await compare(roomId);
    expect(held).toBeGreaterThan(0);
    // The edited and the redacted event are read from the database: it says what changed.
    const { offsets, end } = await timeline(roomId);
    const whole: MessagesQuery = { dir: 'b', from: end, to: offsets[0]!, limit: 1001 };
    expect(stack.recent.messages(roomId, whole)).toBeUndefined();
    const page = await stack.queries.messages(roomId, whole);
    expect(page.find((e) => e.eventId === first)?.hasChildren).toBe(true);
    expect(page.find((e) => e.eventId === second)?.redactedBecause).not.toBeNull();
  });

  it('forgets a room or everything when asked (erasure, retention purges)', async () => {
    const { roomId } = await stack.rooms.createRoom(alice, { room_version: '10', preset: 'public_chat' });
    await stack.rooms.join(bob, roomId);
    await sendPlain(roomId, 'g', 4);
    const { end } = await timeline(roomId);
    const query: MessagesQuery = { dir: 'b', from: end, limit: 2 };
    expect(stack.recent.messages(roomId, query)).toHaveLength(2);
    stack.recent.forgetRoom(roomId);
    expect(stack.recent.messages(roomId, query)).toBeUndefined();
    await sendPlain(roomId, 'h', 3);
    const later = (await timeline(roomId)).end;
    expect(stack.recent.messages(roomId, { ...query, from: later })).toHaveLength(2);
    stack.recent.forgetAll();
    expect(stack.recent.messages(roomId, { ...query, from: later })).toBeUndefined();
  });
});
