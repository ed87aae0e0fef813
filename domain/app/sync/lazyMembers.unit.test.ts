import { describe, expect, it } from 'vitest';
import type { Pdu } from '../../events/index.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import { lazyMembersNeeded } from './lazyMembers.ts';

const ME = '@me:x';

const event = (offset: number, sender: string, type = 'm.room.message', stateKey: string | null = null): StoredEvent => ({
  eventId: `$e${offset}`, roomId: '!r:x', roomVersion: '11', partition: 0, offset, type, stateKey, sender, originServerTs: offset,
  pdu: { type, sender } as unknown as Pdu, redactedBecause: null, local: null, replacesState: null, prevContent: null,
});

describe('lazyMembersNeeded', () => {
  it('needs each sender, unless their member event came earlier in the timeline', () => {
    const timeline = [
      event(1, '@a:x'), event(2, '@b:x', 'm.room.member', '@b:x'), event(3, '@b:x'), event(4, '@a:x', 'm.room.member', '@a:x'), event(5, '@a:x'),
    ];
    // b joins in the timeline (their earlier membership is needed for the join itself), then speaks.
    expect([...lazyMembersNeeded(timeline, ME, { fullState: false, stateAfter: false })].sort()).toEqual(['@a:x', '@b:x']);
    expect([...lazyMembersNeeded([event(1, '@c:x', 'm.room.member', '@c:x'), event(2, '@c:x')], ME, { fullState: false, stateAfter: false })])
      .toEqual(['@c:x']);
    // A member event about someone else (a kick, an invite) introduces its target, not its sender.
    expect([...lazyMembersNeeded([event(1, '@a:x', 'm.room.member', '@d:x'), event(2, '@d:x')], ME, { fullState: false, stateAfter: false })])
      .toEqual(['@a:x']);
  });

  it('adds the user when the full state is sent, and every sender for state_after', () => {
    expect([...lazyMembersNeeded([], ME, { fullState: true, stateAfter: false })]).toEqual([ME]);
    expect([...lazyMembersNeeded([], ME, { fullState: false, stateAfter: false })]).toEqual([]);
    const timeline = [event(1, '@d:x', 'm.room.member', '@d:x'), event(2, '@d:x')];
    expect([...lazyMembersNeeded(timeline, ME, { fullState: false, stateAfter: true })]).toEqual(['@d:x']);
    expect([...lazyMembersNeeded([event(1, '@a:x', 'm.room.member', '@d:x'), event(2, '@d:x')], ME, { fullState: false, stateAfter: true })].sort())
      .toEqual(['@a:x', '@d:x']);
  });
});
