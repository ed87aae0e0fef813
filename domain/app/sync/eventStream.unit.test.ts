// Paging the global /events stream: a partition's events are one order, so a page never skips one
// and `ends` says where each partition continues.
import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../ports/rooms.ts';
import { pageOfRoomEvents, type RoomRead } from './eventStream.ts';

const event = (partition: number, offset: number): StoredEvent =>
  ({ eventId: `$${partition}.${offset}`, partition, offset }) as unknown as StoredEvent;
const read = (partition: number, offsets: readonly number[], full = false): RoomRead =>
  ({ partition, events: offsets.map((offset) => event(partition, offset)), full });
const ids = (events: readonly StoredEvent[]): string[] => events.map((stored) => stored.eventId);

describe('pageOfRoomEvents', () => {
  const since = new Map([[0, 10], [1, 20]]);
  const upTo = new Map([[0, 50], [1, 60]]);

  it('serves everything up to the positions when it fits, rooms of a partition in offset order', () => {
    const page = pageOfRoomEvents([read(0, [12, 30]), read(1, [25]), read(0, [15])], since, upTo, 10);
    expect(ids(page.events)).toEqual(['$0.12', '$0.15', '$0.30', '$1.25']);
    expect(page.ends).toEqual(upTo);
  });

  it('stops a partition after the last event of a room read that reached its limit', () => {
    // The first room's read stopped at 14: the other room's 20 in the same partition waits for the next page.
    const page = pageOfRoomEvents([read(0, [11, 14], true), read(0, [12, 20]), read(1, [25])], since, upTo, 10);
    expect(ids(page.events)).toEqual(['$0.11', '$0.12', '$0.14', '$1.25']);
    expect(page.ends).toEqual(new Map([[0, 15], [1, 60]]));
  });

  it('cuts at the page size: the partition it ends in continues after its last event, later partitions from `since`', () => {
    const page = pageOfRoomEvents([read(0, [11, 12, 13]), read(1, [21, 22])], since, upTo, 2);
    expect(ids(page.events)).toEqual(['$0.11', '$0.12']);
    expect(page.ends).toEqual(new Map([[0, 13], [1, 20]]));
    const next = pageOfRoomEvents([read(0, [13]), read(1, [21, 22])], page.ends, upTo, 2);
    expect(ids(next.events)).toEqual(['$0.13', '$1.21']);
    expect(next.ends).toEqual(new Map([[0, 50], [1, 22]]));
  });
});
