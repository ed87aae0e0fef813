import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { RoomReadModel, StateValueChange, VisibilityHistory } from '../../ports/rooms.ts';
import { BACKFILLED_FLOOR, clipRanges, historyVisibilityOf, inRanges, maySeeEvent, visibleRanges, type EventSituation } from './historyVisibility.ts';
import { canSee, restrictedToVisible, windowOf } from './visibility.ts';

const changes = (entries: Record<number, string | null>): StateValueChange[] =>
  Object.entries(entries).map(([offset, value]) => ({ offset: Number(offset), value, atEvent: true }));

describe('maySeeEvent: the spec’s rules (client-server-api § Room History Visibility)', () => {
  const rows: [string, EventSituation, boolean][] = [
    ['world_readable: anyone', { visibility: 'world_readable', membership: 'leave', joinedLater: false }, true],
    ['shared: a user who joined later', { visibility: 'shared', membership: 'leave', joinedLater: true }, true],
    ['shared: never joined (peeking)', { visibility: 'shared', membership: 'leave', joinedLater: false }, false],
    ['shared: invited but never joined', { visibility: 'shared', membership: 'invite', joinedLater: false }, false],
    ['invited: invited at the event', { visibility: 'invited', membership: 'invite', joinedLater: true }, true],
    ['invited: joined at the event', { visibility: 'invited', membership: 'join', joinedLater: true }, true],
    ['invited: not a member at the event', { visibility: 'invited', membership: 'leave', joinedLater: true }, false],
    ['joined: joined at the event', { visibility: 'joined', membership: 'join', joinedLater: true }, true],
    ['joined: invited at the event', { visibility: 'joined', membership: 'invite', joinedLater: true }, false],
    ['joined: left at the event', { visibility: 'joined', membership: 'leave', joinedLater: true }, false],
    ['joined: knocking at the event', { visibility: 'joined', membership: 'knock', joinedLater: true }, false],
    ['history_visibility event joined → world_readable', { visibility: 'world_readable', previousVisibility: 'joined', membership: 'leave', joinedLater: false }, true],
    ['history_visibility event world_readable → joined', { visibility: 'joined', previousVisibility: 'world_readable', membership: 'leave', joinedLater: false }, true],
    ['history_visibility event shared → joined, joined later', { visibility: 'joined', previousVisibility: 'shared', membership: 'leave', joinedLater: true }, true],
    ['history_visibility event shared → joined, never joined', { visibility: 'joined', previousVisibility: 'shared', membership: 'leave', joinedLater: false }, false],
    ['history_visibility event joined → invited, invited', { visibility: 'invited', previousVisibility: 'joined', membership: 'invite', joinedLater: false }, true],
    ['own join under joined', { visibility: 'joined', membership: 'join', previousMembership: 'invite', joinedLater: true }, true],
    ['own leave after join under joined', { visibility: 'joined', membership: 'leave', previousMembership: 'join', joinedLater: false }, true],
    ['own invite rejection under joined', { visibility: 'joined', membership: 'leave', previousMembership: 'invite', joinedLater: false }, true],
    ['own ban after join under joined', { visibility: 'joined', membership: 'ban', previousMembership: 'join', joinedLater: false }, true],
    ['own invite under joined', { visibility: 'joined', membership: 'invite', previousMembership: 'leave', joinedLater: true }, false],
    ['own invite under invited', { visibility: 'invited', membership: 'invite', previousMembership: 'leave', joinedLater: true }, true],
    ['own knock under joined', { visibility: 'joined', membership: 'knock', previousMembership: 'leave', joinedLater: false }, false],
  ];
  it.each(rows)('%s', (_name, situation, expected) => {
    expect(maySeeEvent(situation)).toBe(expected);
  });

  it('reads unset or unknown values as shared', () => {
    expect(historyVisibilityOf(undefined)).toBe('shared');
    expect(historyVisibilityOf(null)).toBe('shared');
    expect(historyVisibilityOf('everyone')).toBe('shared');
    expect(historyVisibilityOf('joined')).toBe('joined');
  });
});

describe('visibleRanges', () => {
  // shared → (10) joined → (25) invited → (35) shared → (60) world_readable, while the user is
  // invited at 20, joins at 30, leaves at 40, rejoins at 50 and leaves again at 55.
  const history: VisibilityHistory = {
    historyVisibility: changes({ 5: 'shared', 10: 'joined', 25: 'invited', 35: 'shared', 60: 'world_readable' }),
    membership: changes({ 20: 'invite', 30: 'join', 40: 'leave', 50: 'join', 55: 'leave' }),
  };

  it('judges every stretch by the state at its events', () => {
    // [0, 11): shared before a later join, the 10 change itself (shared → joined);
    // 11–24 hidden (joined, not a member; the own invite at 20 too); [25, 56): invited while
    // invited, joined, the own leave at 40, shared before the rejoin, joined, the own leave at 55;
    // 56–59 hidden (shared after the last join); world_readable from 60.
    expect(visibleRanges(history, 100)).toEqual([{ from: BACKFILLED_FLOOR, to: 11 }, { from: 25, to: 56 }, { from: 60, to: 100 }]);
  });

  it('stops at `end`, and the history beyond it does not count', () => {
    expect(visibleRanges(history, 41)).toEqual([{ from: BACKFILLED_FLOOR, to: 11 }, { from: 25, to: 41 }]);
  });

  it('shows a room without history_visibility (shared) only to users who joined', () => {
    const none: VisibilityHistory = { historyVisibility: [], membership: [] };
    expect(visibleRanges(none, 50)).toEqual([]);
    expect(visibleRanges({ historyVisibility: [], membership: changes({ 30: 'join' }) }, 50)).toEqual([{ from: BACKFILLED_FLOOR, to: 50 }]);
  });

  it('judges history backfilled from other servers (below offset 0) by the earliest visibility known', () => {
    // A room joined through another server: its state (visibility included) arrived at offset 5.
    const joinedLater = changes({ 6: 'join' });
    expect(visibleRanges({ historyVisibility: changes({ 5: 'shared' }), membership: joinedLater }, 10)[0]).toEqual({ from: BACKFILLED_FLOOR, to: 10 });
    expect(visibleRanges({ historyVisibility: changes({ 5: 'joined' }), membership: joinedLater }, 10)[0]!.from).toBeGreaterThanOrEqual(0);
    expect(visibleRanges({ historyVisibility: changes({ 5: 'world_readable' }), membership: [] }, 10)[0]!.from).toBe(BACKFILLED_FLOOR);
  });

  it('does not treat a change carried by another event as that state event', () => {
    // A state reset at 20 set the user's membership to leave: the event at 20 is not their leave.
    // (Before 1, the default shared applies for a user who joined later; 1 is the change itself.)
    const reset: VisibilityHistory = {
      historyVisibility: changes({ 1: 'joined' }),
      membership: [{ offset: 10, value: 'join', atEvent: true }, { offset: 20, value: 'leave', atEvent: false }],
    };
    expect(visibleRanges(reset, 30)).toEqual([{ from: 0, to: 2 }, { from: 10, to: 20 }]);
  });

  it('clips and tests membership of ranges', () => {
    const ranges = [{ from: 0, to: 11 }, { from: 25, to: 56 }];
    expect(clipRanges(ranges, 5, 30)).toEqual([{ from: 5, to: 11 }, { from: 25, to: 30 }]);
    expect([10, 11, 24, 25, 55, 56].map((offset) => inRanges(ranges, offset))).toEqual([true, false, false, true, true, false]);
  });
});

describe('windowOf: who may read the room at all', () => {
  it('refuses a user who never joined a room that is not world_readable', () => {
    const history = { historyVisibility: changes({ 5: 'shared' }), membership: changes({ 20: 'invite' }) };
    expect(() => windowOf(history, '!r', '@u:x')).toThrow(MatrixError);
  });

  it('lets anyone peek at the world_readable stretches of a world_readable room', () => {
    const window = windowOf({ historyVisibility: changes({ 5: 'joined', 20: 'world_readable' }), membership: [] }, '!r', '@u:x');
    expect(window).toMatchObject({ joined: false, minOffset: 20 });
    expect(window.maxOffset).toBeUndefined();
    expect([19, 20, 1000].map((offset) => canSee(window, offset))).toEqual([false, true, true]);
  });

  it('ends a departed user’s window at their leave, even when the room turned world_readable', () => {
    const history = { historyVisibility: changes({ 5: 'joined', 50: 'world_readable' }), membership: changes({ 10: 'join', 30: 'leave' }) };
    const window = windowOf(history, '!r', '@u:x');
    // Before 5 (shared, joined later) and the change at 5 itself are visible too.
    expect(window).toEqual({ joined: false, minOffset: 0, maxOffset: 30, visible: [{ from: 0, to: 6 }, { from: 10, to: 31 }] });
  });
});

describe('restrictedToVisible', () => {
  it('adds the ranges to timeline reads and passes every other read through', async () => {
    const seen: unknown[] = [];
    const rooms = {
      messages: async (_roomId: string, query: unknown) => { seen.push(query); return []; },
      around: async (...args: unknown[]) => { seen.push(args[5]); return { before: [], after: [] }; },
      roomInfo: async () => undefined,
    } as unknown as RoomReadModel;
    const ranges = [{ from: 3, to: 9 }];
    const restricted = restrictedToVisible(rooms, ranges);
    await restricted.messages('!r', { dir: 'b', from: 10, limit: 5 });
    await restricted.around('!r', 5, 1, 1);
    expect(seen).toEqual([{ dir: 'b', from: 10, limit: 5, visible: ranges }, ranges]);
    expect(await restricted.roomInfo('!r')).toBeUndefined();
  });
});
