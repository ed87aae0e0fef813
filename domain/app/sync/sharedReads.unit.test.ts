import { describe, expect, it } from 'vitest';
import type { MessagesQuery, RoomReadModel, StoredEvent } from '../../ports/rooms.ts';
import { sharingTimelineReads } from './sharedReads.ts';

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
