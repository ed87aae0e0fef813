/**
 * Timeline reads shared between concurrent /sync computations. One commit to a room wakes every
 * listener of it at once, and listeners woken together read the same page: the same room, bounds
 * (`from`, `to`: offsets of the room's partition), limit, filter and visible ranges. A read that is
 * still running answers every identical read issued meanwhile, so N listeners of a room cost one
 * query per position instead of N. Nothing is kept once the read settles: equal bounds mean no
 * commit to the room's partition came between the reads (a redaction or a relation is such a
 * commit and moves `to`), so the shared answer is the one each read would have got. The unread
 * windows the listeners' notification counts evaluate are shared the same way.
 */
import type { MessagesQuery, RoomReadModel, StoredEvent, SyncReadModel, UnreadWindow } from '../../ports/rooms.ts';

/** `rooms`, whose `messages` share identical reads in flight. The events are shared too: never mutate them. */
export const sharingTimelineReads = (rooms: RoomReadModel): RoomReadModel => {
  const inFlight = new Map<string, Promise<StoredEvent[]>>();
  const messages = (roomId: string, query: MessagesQuery): Promise<StoredEvent[]> => {
    const key = JSON.stringify([roomId, query.dir, query.from, query.to, query.limit, query.filter, query.minOffset, query.maxOffset, query.visible]);
    const running = inFlight.get(key);
    // Each caller gets its own array: callers slice and reverse what they get.
    if (running !== undefined) return running.then((events) => [...events]);
    const read = rooms.messages(roomId, query);
    inFlight.set(key, read);
    const forget = (): void => void inFlight.delete(key);
    read.then(forget, forget);
    return read.then((events) => [...events]);
  };
  return Object.assign(Object.create(rooms) as RoomReadModel, { messages });
};

/** What SyncReadModel.unreadWindow leaves out for `userId`: its own events, but for state and redactions. */
const countsFor = (event: StoredEvent, userId: string): boolean =>
  event.sender !== userId || event.stateKey !== null || event.type === 'm.room.redaction';

/**
 * `sync`, whose unread windows without state (a user's counts carried on from an earlier response)
 * share one read of the room's events in flight, each user's own events left out afterwards. A
 * shared read that filled its `limit` may have cut a user's window elsewhere than the user's own
 * read would: that user reads its own then.
 */
export const sharingUnreadWindows = (sync: SyncReadModel): SyncReadModel => {
  const inFlight = new Map<string, Promise<UnreadWindow>>();
  const unreadWindow = async (
    roomId: string, userId: string | null, after: number, before: number, withState: boolean, limit?: number,
  ): Promise<UnreadWindow> => {
    if (withState || userId === null) return sync.unreadWindow(roomId, userId, after, before, withState, limit);
    const key = JSON.stringify([roomId, after, before, limit]);
    let read = inFlight.get(key);
    if (read === undefined) {
      read = sync.unreadWindow(roomId, null, after, before, false, limit);
      inFlight.set(key, read);
      const forget = (): void => void inFlight.delete(key);
      read.then(forget, forget);
    }
    const everyone = await read;
    if (limit !== undefined && everyone.events.length >= limit) return sync.unreadWindow(roomId, userId, after, before, false, limit);
    return { events: everyone.events.filter((event) => countsFor(event, userId)) };
  };
  return Object.assign(Object.create(sync) as SyncReadModel, { unreadWindow });
};
