import { describe, expect, it } from 'vitest';
import type { ServerVisibilityHistory } from '../../ports/roomEvents.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import { pdusForServer, visibleToServer } from './roomReadsVisibility.ts';

const visibility = (...changes: [number, string | null][]) => changes.map(([offset, value]) => ({ offset, value, atEvent: true }));
const memberships = (...changes: [number, string, string | null][]) => changes.map(([offset, userId, value]) => ({ offset, userId, value, atEvent: true }));
const history = (h: Partial<ServerVisibilityHistory>): ServerVisibilityHistory => ({ historyVisibility: [], memberships: [], ...h });

describe('history visibility for a server', () => {
  it('shows everything under shared (the default) and world_readable', () => {
    expect(visibleToServer(history({}), 5)).toBe(true);
    expect(visibleToServer(history({ historyVisibility: visibility([1, 'world_readable']) }), 5)).toBe(true);
    expect(visibleToServer(history({ historyVisibility: visibility([1, 'shared']) }), 5)).toBe(true);
    // A removed or unreadable value counts as shared.
    expect(visibleToServer(history({ historyVisibility: visibility([1, 'joined'], [3, null]) }), 5)).toBe(true);
  });

  it('under joined shows only what the server had a joined user at, the visibility event itself included', () => {
    const h = history({ historyVisibility: visibility([1, 'joined']), memberships: memberships([4, '@u:s', 'join'], [8, '@u:s', 'leave'], [9, '@v:s', 'invite']) });
    expect(visibleToServer(h, 1)).toBe(false);
    expect(visibleToServer(h, 3)).toBe(false);
    expect(visibleToServer(h, 4)).toBe(true);
    expect(visibleToServer(h, 7)).toBe(true);
    expect(visibleToServer(h, 8)).toBe(false);
    expect(visibleToServer(h, 10)).toBe(false);
    // The visibility changing at an event applies to that event.
    expect(visibleToServer(history({ historyVisibility: visibility([1, 'joined'], [6, 'shared']) }), 6)).toBe(true);
    expect(visibleToServer(history({ historyVisibility: visibility([1, 'shared'], [6, 'joined']) }), 6)).toBe(false);
  });

  it('under invited also counts invited users', () => {
    const h = history({ historyVisibility: visibility([1, 'invited']), memberships: memberships([4, '@u:s', 'invite']) });
    expect(visibleToServer(h, 3)).toBe(false);
    expect(visibleToServer(h, 5)).toBe(true);
    expect(visibleToServer(history({ historyVisibility: visibility([1, 'joined']), memberships: memberships([4, '@u:s', 'invite']) }), 5)).toBe(false);
  });

  it('serves hidden events redacted by their room version\'s algorithm, visible ones as stored', () => {
    const event = (offset: number): StoredEvent => ({
      eventId: `$${offset}`, roomId: '!r:x', roomVersion: '10', partition: 0, offset, type: 'm.room.message', stateKey: null, sender: '@a:x',
      originServerTs: 0, redactedBecause: null, local: null, replacesState: null, prevContent: null,
      pdu: { type: 'm.room.message', sender: '@a:x', room_id: '!r:x', content: { body: 'secret' }, depth: offset, origin_server_ts: 0, extra: 1 },
    });
    const [hidden, shown] = pdusForServer(history({ historyVisibility: visibility([1, 'joined'], [5, 'world_readable']) }), [event(2), event(6)]);
    expect(hidden).toEqual({ type: 'm.room.message', sender: '@a:x', room_id: '!r:x', content: {}, depth: 2, origin_server_ts: 0 });
    expect(shown).toEqual(event(6).pdu);
  });
});
