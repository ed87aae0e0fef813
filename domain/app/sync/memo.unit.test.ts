import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../json.ts';
import type { RoomReadModel, StoredEvent } from '../../ports/rooms.ts';
import type { SyncContext } from './context.ts';
import { sentMembersOf } from './lazyMembers.ts';
import { BoundedMap } from '../../boundedMap.ts';
import { createSyncMemo } from './memo.ts';
import { ownReceipts, ownReceiptsByKey, receiptTargets } from './ownReceipts.ts';
import { idleSince } from './roomSections.ts';
import type { RoomPlan } from './plan.ts';

const event = (eventId: string, type: string, stateKey: string | null, roomId = '!r:x', offset = 1): StoredEvent => ({
  eventId, roomId, roomVersion: '11', partition: 0, offset, type, stateKey, sender: '@a:x', originServerTs: 0,
  pdu: {} as StoredEvent['pdu'], redactedBecause: null, local: null, replacesState: null, prevContent: null,
});

describe('sentMembersOf (include_redundant_members: false)', () => {
  it('knows the exact member events sent to a device, per room, until the device starts over', () => {
    const devices = new BoundedMap<string, BoundedMap<string, string>>(10);
    const first = sentMembersOf(devices, '@u:x\u0000D', false);
    const carol = event('$c1', 'm.room.member', '@c:x');
    first.record([carol, event('$m', 'm.room.message', null)]);
    const again = sentMembersOf(devices, '@u:x\u0000D', false);
    expect(again.wasSent(carol)).toBe(true);
    // A newer member event of the same user, or the same user in another room, is not known.
    expect(again.wasSent(event('$c2', 'm.room.member', '@c:x'))).toBe(false);
    expect(again.wasSent(event('$c1', 'm.room.member', '@c:x', '!other:x'))).toBe(false);
    expect(sentMembersOf(devices, '@u:x\u0000OTHER', false).wasSent(carol)).toBe(false);
    expect(sentMembersOf(devices, '@u:x\u0000D', true).wasSent(carol)).toBe(false);
  });
});

describe('own receipts', () => {
  const content = (eventId: string, type: string, user: string, thread?: string): JsonObject =>
    ({ [eventId]: { [type]: { [user]: { ts: 1, ...(thread === undefined ? {} : { thread_id: thread }) } } } });

  it('keeps the user’s public and private receipts by type and thread, and nobody else’s', () => {
    const mixed = { ...content('$1', 'm.read', '@u:x'), ...content('$2', 'm.read.private', '@u:x', 't'), ...content('$3', 'm.read', '@v:x') };
    expect([...ownReceiptsByKey('@u:x', mixed)]).toEqual([['m.read\u0000', { eventId: '$1' }], ['m.read.private\u0000t', { eventId: '$2', threadId: 't' }]]);
  });

  it('reads a room’s receipts in full once, then only applies the changes since', async () => {
    const reads: number[] = [];
    const ctx = {
      userData: { streams: { receipts: { changesSince: async (_user: string, _rooms: readonly string[], since: number) => {
        reads.push(since);
        return new Map([['!r:x', content('$old', 'm.read', '@u:x')]]);
      } } } },
    } as unknown as SyncContext;
    const memo = createSyncMemo();
    const first = await ownReceipts(ctx, '@u:x', '!r:x', { since: 5, upTo: 7, changed: new Map() }, memo);
    expect([first, reads]).toEqual([[{ eventId: '$old' }], [0]]);
    // Covered from 7: the change at 9 replaces the unthreaded public receipt without a read.
    const next = await ownReceipts(ctx, '@u:x', '!r:x', { since: 7, upTo: 9, changed: new Map([['!r:x', content('$new', 'm.read', '@u:x')]]) }, memo);
    expect([next, reads]).toEqual([[{ eventId: '$new' }], [0]]);
    // An older token is covered too (the changes since it are in what is remembered)…
    await ownReceipts(ctx, '@u:x', '!r:x', { since: 3, upTo: 9, changed: new Map() }, memo);
    expect(reads).toEqual([0]);
    // …a token past what is remembered leaves a gap: read in full again.
    await ownReceipts(ctx, '@u:x', '!r:x', { since: 10, upTo: 12, changed: new Map() }, memo);
    expect(reads).toEqual([0, 0]);
  });

  it('remembers where receipts point', async () => {
    let reads = 0;
    const rooms = { event: async (id: string) => { reads++; return event(id, 'm.room.message', null); } } as unknown as RoomReadModel;
    const cached = receiptTargets(rooms, createSyncMemo());
    await cached.event('$1');
    expect((await cached.event('$1'))?.eventId).toBe('$1');
    expect(reads).toBe(1);
  });
});

describe('idleSince', () => {
  const plan = (window: { from?: number; to: number; fullState: boolean }, lastOffset: number, newToClient = false) => ({
    section: 'join', roomId: '!r:x', partition: 0, newToClient, window: { roomId: '!r:x', ...window },
    changes: [{ roomId: '!r:x', partition: 0, offset: 1, membership: 'join', eventId: '$j', roomLastOffset: lastOffset }],
  }) as Extract<RoomPlan, { section: 'join' | 'leave' }>;

  it('skips a known room only when nothing of it can be at or after the window start', () => {
    expect(idleSince(plan({ from: 10, to: 10, fullState: false }, 50))).toBe(true);
    expect(idleSince(plan({ from: 10, to: 20, fullState: false }, 9))).toBe(true);
    expect(idleSince(plan({ from: 10, to: 20, fullState: false }, 10))).toBe(false);
    expect(idleSince(plan({ from: 10, to: 20, fullState: true }, 9))).toBe(false);
    expect(idleSince(plan({ to: 20, fullState: true }, 9))).toBe(false);
    expect(idleSince(plan({ from: 10, to: 20, fullState: false }, 9, true))).toBe(false);
  });
});
