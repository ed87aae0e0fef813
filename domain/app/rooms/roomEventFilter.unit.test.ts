import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../../ports/rooms.ts';
import { admitsRoom, lazyMembers, matchesEventFilter, parseEventFilter } from './roomEventFilter.ts';

const event = (type: string, sender: string, content: Record<string, unknown> = {}, stateKey: string | null = null): StoredEvent =>
  ({ type, sender, stateKey, pdu: { content } }) as unknown as StoredEvent;

describe('RoomEventFilter of /messages and /context', () => {
  it('parses lazy loading and rooms, and refuses ill-typed lists', () => {
    expect(parseEventFilter(JSON.stringify({ lazy_load_members: true, include_redundant_members: true, rooms: ['!a:x'], not_rooms: ['!b:x'] })))
      .toEqual({ filter: {}, lazyLoadMembers: true, rooms: ['!a:x'], notRooms: ['!b:x'] });
    expect(() => parseEventFilter(JSON.stringify({ not_rooms: '!b:x' }))).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }));
    const parsed = parseEventFilter(JSON.stringify({ rooms: ['!a:x'], not_rooms: ['!b:x'] }));
    expect([admitsRoom(parsed, '!a:x'), admitsRoom(parsed, '!b:x'), admitsRoom(parsed, '!c:x')]).toEqual([true, false, false]);
    expect(admitsRoom(parseEventFilter(JSON.stringify({ not_rooms: ['!b:x'] })), '!c:x')).toBe(true);
  });

  it('matches types with * wildcards, senders and contains_url', () => {
    const image = event('m.room.message', '@a:x', { url: 'mxc://x/y' });
    expect(matchesEventFilter(image, { types: ['m.room.*'] })).toBe(true);
    expect(matchesEventFilter(image, { types: ['m.room'] })).toBe(false);
    expect(matchesEventFilter(image, { types: ['m.room.mess?ge'] })).toBe(false);
    expect(matchesEventFilter(image, { notTypes: ['*'] })).toBe(false);
    expect(matchesEventFilter(image, { senders: ['@b:x'] })).toBe(false);
    expect(matchesEventFilter(image, { notSenders: ['@a:x'] })).toBe(false);
    expect(matchesEventFilter(image, { containsUrl: true })).toBe(true);
    expect(matchesEventFilter(event('m.room.message', '@a:x', { body: 'hi' }), { containsUrl: true })).toBe(false);
    expect(matchesEventFilter(image, undefined)).toBe(true);
  });

  it('keeps only the senders\' member events when lazy loading', () => {
    const state = [event('m.room.create', '@a:x', {}, ''), event('m.room.member', '@a:x', {}, '@a:x'), event('m.room.member', '@b:x', {}, '@b:x')];
    const sent = [event('m.room.message', '@b:x')];
    expect(lazyMembers(state, { lazyLoadMembers: true }, sent).map((e) => e.stateKey)).toEqual(['', '@b:x']);
    expect(lazyMembers(state, {}, sent)).toHaveLength(3);
  });
});
