import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { JsonValue } from '../../json.ts';
import { eventMatches, parseFilter, roomAllowed } from './filter.ts';

const errcodeOf = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof MatrixError ? error.errcode : 'not a MatrixError';
  }
};

describe('filters', () => {
  it('parses every part of a filter with defaults', () => {
    const filter = parseFilter({
      event_fields: ['type', 'content.body'],
      presence: { not_types: ['*'] },
      room: {
        rooms: ['!a:x'], include_leave: true,
        timeline: { limit: 20, types: ['m.room.*'], not_senders: ['@spam:x'], lazy_load_members: true, contains_url: true },
      },
      unknown_key: 1,
    });
    expect(filter.eventFields).toEqual(['type', 'content.body']);
    expect(filter.eventFormat).toBe('client');
    expect(filter.room.includeLeave).toBe(true);
    expect(filter.room.timeline).toMatchObject({ limit: 20, lazyLoadMembers: true, includeRedundantMembers: false, containsUrl: true });
    expect(filter.room.state.lazyLoadMembers).toBe(false);
    expect(filter.accountData).toEqual({ notTypes: [], notSenders: [] });
  });

  it('rejects malformed filters with M_BAD_JSON', () => {
    const bads: JsonValue[] = [[], { event_fields: 'type' }, { room: { timeline: { limit: -1 } } }, { room: { timeline: { limit: 1.5 } } },
      { room: { include_leave: 'yes' } }, { account_data: { senders: [1] } }, { event_format: 'xml' },
      { room: { timeline: { senders: ['alice'] } } }, { room: { not_rooms: ['#alias:x'] } }, { room: { state: { rooms: ['!'] } } }];
    for (const bad of bads) {
      expect(errcodeOf(() => parseFilter(bad))).toBe('M_BAD_JSON');
    }
    // Zero is a limit (an empty timeline); unknown keys are allowed for forward compatibility.
    expect(parseFilter({ room: { timeline: { limit: 0, 'org.example.new': 1 } }, 'org.example.top': [] }).room.timeline.limit).toBe(0);
  });

  it('matches events by type glob, sender, room and url', () => {
    const { timeline } = parseFilter({
      room: { timeline: { types: ['m.room.*'], not_types: ['m.room.member'], senders: ['@a:x', '@b:x'], not_senders: ['@b:x'], not_rooms: ['!no:x'], contains_url: true } },
    }).room;
    const event = { type: 'm.room.message', sender: '@a:x', roomId: '!yes:x', content: { url: 'mxc://x/y' } };
    expect(eventMatches(timeline, event)).toBe(true);
    expect(eventMatches(timeline, { ...event, type: 'm.room.member' })).toBe(false);
    expect(eventMatches(timeline, { ...event, type: 'm.reaction' })).toBe(false);
    expect(eventMatches(timeline, { ...event, sender: '@b:x' })).toBe(false);
    expect(eventMatches(timeline, { ...event, sender: '@c:x' })).toBe(false);
    expect(eventMatches(timeline, { ...event, roomId: '!no:x' })).toBe(false);
    expect(eventMatches(timeline, { ...event, content: {} })).toBe(false);
    expect(roomAllowed(parseFilter({ room: { rooms: ['!a:x'] } }).room, '!b:x')).toBe(false);
  });
});
