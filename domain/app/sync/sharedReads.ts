/**
 * Timeline reads shared between concurrent /sync computations. One commit to a room wakes every
 * listener of it at once, and listeners woken together read the same page: the same room, bounds
 * (`from`, `to`: offsets of the room's partition), limit, filter and visible ranges. A read that is
 * still running answers every identical read issued meanwhile, so N listeners of a room cost one
 * query per position instead of N. Nothing is kept once the read settles: equal bounds mean no
 * commit to the room's partition came between the reads (a redaction or a relation is such a
 * commit and moves `to`), so the shared answer is the one each read would have got.
 */
import type { MessagesQuery, RoomReadModel, StoredEvent } from '../../ports/rooms.ts';

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
