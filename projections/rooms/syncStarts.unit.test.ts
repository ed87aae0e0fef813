// What the held /sync starting points trust: database answers nothing observed since could
// contradict, moved by every committed batch; anything else is asked of the database again.
// (syncStarts.int.test.ts checks the answers against the database's.)
import { describe, expect, it } from 'vitest';
import type { LogEntry, LogValue } from '../../domain/index.ts';
import type { UserMembershipChange } from '../../domain/app/rooms/index.ts';
import { createInProcessNotifier } from '../../domain/app/notifier/index.ts';
import { createSyncStarts, notifyingStreamsMoved, type SyncStart } from './syncStarts.ts';

const event = (roomId: string, offset: number, stateKey?: string): LogEntry => ({
  topic: 'room_events', partition: 0, offset, key: roomId, headers: {}, timestamp: 1,
  value: {
    type: 'pdu.accepted', v: 2, roomId, roomVersion: '10', eventId: `$${roomId}-${offset}`,
    pdu: {
      type: stateKey === undefined ? 'm.room.message' : 'm.room.member', sender: '@a:x', room_id: roomId, origin_server_ts: offset,
      content: stateKey === undefined ? { body: `m${offset}` } : { membership: 'join' }, ...(stateKey === undefined ? {} : { state_key: stateKey }),
    },
    stateDelta: stateKey === undefined ? [] : [{ type: 'm.room.member', stateKey, eventId: `$${roomId}-${offset}`, replaces: null }],
    prevAcceptedEventId: null, forwardExtremities: [], acceptedAt: 1, redaction: null, redactedBy: [], local: null,
  } as unknown as LogValue,
});

const streams = { accountData: 1, receipts: 2, toDevice: 3, deviceLists: 4, presence: 5 };
const joined = (roomId: string, offset: number, roomLastOffset: number): UserMembershipChange =>
  ({ roomId, partition: 0, offset, membership: 'join', eventId: `$${roomId}-${offset}`, roomLastOffset });
const answer = (next: number, changes: UserMembershipChange[], positions = streams): SyncStart =>
  ({ rooms: new Map([[0, next]]), streams: positions, changes });

const setUp = () => {
  const clock = { t: 0 };
  const starts = createSyncStarts({ now: () => clock.t, streamsTtlMs: 1_000 });
  return { clock, starts };
};

describe('held /sync starting points', () => {
  it('holds nothing until the database answered, then moves with each committed batch', () => {
    const { starts } = setUp();
    expect(starts.held('@u:x')).toBeUndefined();
    starts.remember(starts.begin(), new Map([['@u:x', answer(5, [joined('!r', 2, 4)])]]));
    expect(starts.held('@u:x')).toEqual(answer(5, [joined('!r', 2, 4)]));
    starts.observe({ partition: 0, entries: [event('!r', 5), event('!r', 6)], nextOffset: 7 });
    starts.observe({ partition: 1, entries: [event('!s', 0)], nextOffset: 1 });
    expect(starts.held('@u:x')).toEqual({ rooms: new Map([[0, 7], [1, 1]]), streams, changes: [joined('!r', 2, 6)] });
    // A user never asked for is not known.
    expect(starts.held('@v:x')).toBeUndefined();
  });

  it('forgets every membership at a record that may change one', () => {
    const { starts } = setUp();
    starts.remember(starts.begin(), new Map([['@u:x', answer(5, [joined('!r', 2, 4)])], ['@v:x', answer(5, [])]]));
    starts.observe({ partition: 0, entries: [event('!r', 5, '@w:x')], nextOffset: 6 });
    expect(starts.held('@u:x')).toBeUndefined();
    expect(starts.held('@v:x')).toBeUndefined();
  });

  it('keeps no membership read while a record that may change one was observed', () => {
    const { starts } = setUp();
    const read = starts.begin();
    starts.observe({ partition: 0, entries: [event('!r', 5, '@u:x')], nextOffset: 6 });
    starts.remember(read, new Map([['@u:x', answer(5, [joined('!r', 2, 4)])]]));
    expect(starts.held('@u:x')).toBeUndefined();
    // Plain messages meanwhile do not matter: the changes below them are the same.
    const again = starts.begin();
    starts.observe({ partition: 0, entries: [event('!r', 6)], nextOffset: 7 });
    starts.remember(again, new Map([['@u:x', answer(6, [joined('!r', 2, 5), joined('!r', 5, 5)])]]));
    expect(starts.held('@u:x')).toEqual({ rooms: new Map([[0, 7]]), streams, changes: [joined('!r', 2, 6), joined('!r', 5, 6)] });
  });

  it('an answer ahead of what was observed drops what others held: their changes may predate it', () => {
    const { starts } = setUp();
    starts.remember(starts.begin(), new Map([['@u:x', answer(5, [joined('!r', 2, 4)])]]));
    // A commit the database shows before its batch is observed.
    starts.remember(starts.begin(), new Map([['@v:x', answer(6, [joined('!r', 5, 5)])]]));
    expect(starts.held('@u:x')).toBeUndefined();
    expect(starts.held('@v:x')).toEqual({ rooms: new Map([[0, 6]]), streams, changes: [joined('!r', 5, 5)] });
  });

  it('holds the streams until anything but the rooms projection notifies, and at most their time to live', () => {
    const { clock, starts } = setUp();
    const notifier = notifyingStreamsMoved(createInProcessNotifier(), starts);
    starts.remember(starts.begin(), new Map([['@u:x', answer(5, [])]]));
    expect(starts.held('@u:x')?.streams).toEqual(streams);
    notifier.notify(['@u:x']);
    expect(starts.held('@u:x')).toBeUndefined();
    // A read begun before a notification keeps its memberships but not its streams.
    const read = starts.begin();
    notifier.notify(['!r']);
    starts.remember(read, new Map([['@u:x', answer(5, [])]]));
    expect(starts.held('@u:x')).toBeUndefined();
    clock.t = 100;
    starts.remember(starts.begin(), new Map([['@u:x', answer(5, [], { ...streams, receipts: 9 })]]));
    expect(starts.held('@u:x')?.streams.receipts).toBe(9);
    clock.t = 1_099;
    expect(starts.held('@u:x')).toBeDefined();
    clock.t = 1_100;
    expect(starts.held('@u:x')).toBeUndefined();
  });
});
