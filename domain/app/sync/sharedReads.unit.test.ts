import { describe, expect, it } from 'vitest';
import type { MessagesQuery, RoomReadModel, StoredEvent, SyncReadModel, UnreadWindow } from '../../ports/rooms.ts';
import { sharingTimelineReads, sharingUnreadWindows } from './sharedReads.ts';

/** A read model whose `messages` calls are counted and answered when the test says so. */
const countingRooms = () => {
  const calls: [string, MessagesQuery][] = [];
  const pending: { resolve: (events: StoredEvent[]) => void; reject: (error: Error) => void }[] = [];
  const rooms = {
    messages: (roomId: string, query: MessagesQuery) => {
      calls.push([roomId, query]);
      return new Promise<StoredEvent[]>((resolve, reject) => pending.push({ resolve, reject }));
    },
    stateAt: () => Promise.resolve([]),
  } as unknown as RoomReadModel;
  return { rooms, calls, pending };
};

const page = (n: number): StoredEvent[] => Array.from({ length: n }, (_, i) => ({ eventId: `$${i}`, offset: i }) as unknown as StoredEvent);
const query: MessagesQuery = { dir: 'b', from: 20, to: 10, limit: 1001, filter: { types: ['m.room.message'], notTypes: [], notSenders: [] } };

describe('sharingTimelineReads', () => {
  it('answers N identical reads in flight (the listeners of a room woken by one commit) with one query', async () => {
    const { rooms, calls, pending } = countingRooms();
    const shared = sharingTimelineReads(rooms);
    const reads = [1, 2, 3, 4].map(() => shared.messages('!r', { ...query }));
    expect(calls).toHaveLength(1);
    pending[0]!.resolve(page(3));
    const answers = await Promise.all(reads);
    for (const answer of answers) expect(answer.map((event) => event.eventId)).toEqual(['$0', '$1', '$2']);
    // Each caller may slice and reverse its own array.
    answers[0]!.reverse();
    expect(answers[1]!.map((event) => event.eventId)).toEqual(['$0', '$1', '$2']);
  });

  it('reads again once the read settled, and separately for another room, bound, limit, filter or visibility', async () => {
    const { rooms, calls, pending } = countingRooms();
    const shared = sharingTimelineReads(rooms);
    const first = shared.messages('!r', query);
    pending[0]!.resolve(page(1));
    await first;
    void shared.messages('!r', query);
    expect(calls).toHaveLength(2);
    void shared.messages('!other', query);
    void shared.messages('!r', { ...query, from: 21 });
    void shared.messages('!r', { ...query, limit: 11 });
    void shared.messages('!r', { ...query, filter: { notTypes: [], notSenders: [] } });
    void shared.messages('!r', { ...query, visible: [{ from: 12, to: 20 }] });
    expect(calls).toHaveLength(7);
    // Other reads of the read model pass through.
    expect(await shared.stateAt('!r', 5)).toEqual([]);
  });

  it('fails every sharer of a failed read, and the next read queries again', async () => {
    const { rooms, calls, pending } = countingRooms();
    const shared = sharingTimelineReads(rooms);
    const reads = [shared.messages('!r', query), shared.messages('!r', query)];
    pending[0]!.reject(new Error('connection lost'));
    for (const read of reads) await expect(read).rejects.toThrow('connection lost');
    void shared.messages('!r', query);
    expect(calls).toHaveLength(2);
  });
});

describe('sharingUnreadWindows', () => {
  const event = (offset: number, sender: string, type = 'm.room.message', stateKey: string | null = null): StoredEvent =>
    ({ eventId: `$${offset}`, offset, sender, type, stateKey }) as unknown as StoredEvent;
  const room = [event(1, '@a:x'), event(2, '@b:x'), event(3, '@b:x', 'm.room.member', '@b:x'), event(4, '@b:x', 'm.room.redaction'), event(5, '@c:x')];
  /** A read model answering as the SQL does: a null user sees every event. */
  const counting = () => {
    const calls: [string | null, boolean, number | undefined][] = [];
    const sync = {
      unreadWindow: async (_roomId: string, userId: string | null, after: number, before: number, withState: boolean, limit?: number): Promise<UnreadWindow> => {
        calls.push([userId, withState, limit]);
        const events = room.filter((e) => e.offset > after && e.offset < before
          && (userId === null || e.sender !== userId || e.stateKey !== null || e.type === 'm.room.redaction')).slice(0, limit ?? Infinity);
        return withState ? { events, stateBefore: { joinedMembers: 3 } } : { events };
      },
      roomSummary: async () => ({ joined: 3, invited: 0, heroes: [] }),
    } as unknown as SyncReadModel;
    return { sync, calls };
  };
  const ids = (window: UnreadWindow) => window.events.map((e) => e.offset);

  it('answers the users woken together with one read, each without its own messages', async () => {
    const { sync, calls } = counting();
    const shared = sharingUnreadWindows(sync);
    const [a, b, c] = await Promise.all(['@a:x', '@b:x', '@c:x'].map((user) => shared.unreadWindow('!r', user, 0, 10, false, 500)));
    expect(calls).toEqual([[null, false, 500]]);
    expect([ids(a!), ids(b!), ids(c!)]).toEqual([[2, 3, 4, 5], [1, 3, 4, 5], [1, 2, 3, 4]]);
    for (const [user, window] of [['@a:x', a], ['@b:x', b], ['@c:x', c]] as const) {
      expect(ids(window!)).toEqual(ids(await sync.unreadWindow('!r', user, 0, 10, false, 500)));
    }
    // Other reads pass through.
    expect(await shared.roomSummary('!r', '@a:x')).toEqual({ joined: 3, invited: 0, heroes: [] });
  });

  it('leaves windows with state to the user, and a window the shared chunk may have cut', async () => {
    const { sync, calls } = counting();
    const shared = sharingUnreadWindows(sync);
    expect((await shared.unreadWindow('!r', '@a:x', 0, 10, true)).stateBefore).toEqual({ joinedMembers: 3 });
    expect(calls).toEqual([['@a:x', true, undefined]]);
    calls.length = 0;
    // Three events of everyone's fill a limit of 3: @a's own first three may differ.
    expect(ids(await shared.unreadWindow('!r', '@a:x', 0, 10, false, 3))).toEqual([2, 3, 4]);
    expect(calls).toEqual([[null, false, 3], ['@a:x', false, 3]]);
  });
});
