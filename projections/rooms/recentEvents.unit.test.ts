// What the held newest events trust: every record of a partition seen contiguously, only rows no
// later record changes. (recentEvents.int.test.ts checks the answers against the database.)
import { describe, expect, it } from 'vitest';
import type { LogEntry, LogValue } from '../../domain/index.ts';
import { createRecentEvents, RECENT_EVENTS_PER_ROOM } from './recentEvents.ts';

const message = (roomId: string, offset: number, options: { local?: boolean; content?: Record<string, unknown>; stateKey?: string; sender?: string; id?: string } = {}): LogEntry => ({
  topic: 'room_events', partition: 0, offset, key: roomId, headers: {}, timestamp: 1,
  value: {
    type: 'pdu.accepted', v: 2, roomId, roomVersion: '10', eventId: options.id ?? `$${roomId}-${offset}`,
    pdu: {
      type: options.stateKey === undefined ? 'm.room.message' : 'm.room.topic', sender: options.sender ?? '@a:x', room_id: roomId, origin_server_ts: offset,
      content: options.content ?? { body: `m${offset}` }, ...(options.stateKey === undefined ? {} : { state_key: options.stateKey }),
    },
    stateDelta: options.stateKey === undefined ? [] : [{ type: 'm.room.topic', stateKey: options.stateKey, eventId: `$${roomId}-${offset}`, replaces: null }],
    prevAcceptedEventId: null, forwardExtremities: [], acceptedAt: 1, redaction: null, redactedBy: [],
    local: options.local === false ? null : { userId: options.sender ?? '@a:x', deviceId: 'D', txnId: `t${offset}` },
  } as unknown as LogValue,
});

const page = (recent: ReturnType<typeof createRecentEvents>, roomId: string, from: number, to?: number) =>
  recent.messages(roomId, { dir: 'b', from, limit: 100, ...(to === undefined ? {} : { to }) })?.map((event) => event.offset);

describe('held newest events', () => {
  it('starts watching a partition at the first batch it sees, then holds each contiguous batch', () => {
    const recent = createRecentEvents();
    recent.observe({ partition: 0, entries: [message('!r', 0), message('!r', 1)], nextOffset: 2 });
    expect(page(recent, '!r', 2)).toBeUndefined();
    recent.observe({ partition: 0, entries: [message('!r', 1), message('!r', 2), message('!r', 3)], nextOffset: 4 });
    expect(page(recent, '!r', 4, 2)).toEqual([3, 2]);
    // Below what it holds, or above what was observed, the database answers.
    expect(page(recent, '!r', 4, 1)).toBeUndefined();
    expect(page(recent, '!r', 5, 2)).toBeUndefined();
    expect(recent.unreadWindow('!r', null, 1, 4)?.map((e) => e.offset)).toEqual([2, 3]);
    expect(recent.unreadWindow('!r', '@a:x', 1, 4)).toEqual([]);
    expect(recent.unreadWindow('!r', null, 0, 4)).toBeUndefined();
  });

  it('forgets the partition at a gap (records applied without it seeing them) and starts again after it', () => {
    const recent = createRecentEvents();
    recent.observe({ partition: 0, entries: [message('!r', 0)], nextOffset: 1 });
    recent.observe({ partition: 0, entries: [message('!r', 1), message('!r', 2)], nextOffset: 3 });
    expect(page(recent, '!r', 3, 1)).toEqual([2, 1]);
    recent.observe({ partition: 0, entries: [message('!r', 4)], nextOffset: 5 });
    expect(page(recent, '!r', 3, 1)).toBeUndefined();
    recent.observe({ partition: 0, entries: [message('!r', 5)], nextOffset: 6 });
    expect(page(recent, '!r', 6, 5)).toEqual([5]);
    expect(page(recent, '!r', 6, 4)).toBeUndefined();
  });

  it('starts a room again after any record whose row a later one may change, or that is read through more than its row', () => {
    const cases: [string, LogEntry][] = [
      ['remote', message('!r', 3, { local: false })],
      ['state', message('!r', 3, { stateKey: '' })],
      ['relation', message('!r', 3, { content: { body: 'x', 'm.relates_to': { rel_type: 'm.thread', event_id: '$!r-1' } } })],
      ['NUL in the sender', message('!r', 3, { sender: '@a\u0000:x' })],
      ['an event id seen before', message('!r', 3, { id: '$!r-2' })],
    ];
    for (const [why, entry] of cases) {
      const recent = createRecentEvents();
      recent.observe({ partition: 0, entries: [], nextOffset: 1 });
      recent.observe({ partition: 0, entries: [message('!r', 1), message('!r', 2), entry, message('!r', 4)], nextOffset: 5 });
      expect(page(recent, '!r', 5, 4), why).toEqual([4]);
      expect(page(recent, '!r', 5, 3), why).toBeUndefined();
    }
  });

  it('holds a bounded number of events per room, the newest', () => {
    const recent = createRecentEvents();
    recent.observe({ partition: 0, entries: [], nextOffset: 0 });
    const entries = Array.from({ length: RECENT_EVENTS_PER_ROOM + 1 }, (_, offset) => message('!r', offset));
    recent.observe({ partition: 0, entries, nextOffset: entries.length });
    const end = entries.length;
    expect(page(recent, '!r', end, end - RECENT_EVENTS_PER_ROOM / 2)).toHaveLength(RECENT_EVENTS_PER_ROOM / 2);
    expect(page(recent, '!r', end, 0)).toBeUndefined();
    // A full page is exact wherever the room's history starts.
    expect(recent.messages('!r', { dir: 'b', from: end, limit: 3 })?.map((e) => e.offset)).toEqual([end - 1, end - 2, end - 3]);
  });
});
