import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../ports/log.ts';
import type { UserMembershipChange } from '../../ports/rooms.ts';
import { applyEventFields } from './format.ts';
import { planRooms, type PlanOptions } from './plan.ts';
import { decodeSyncToken, encodeSyncToken, parseSyncToken } from './token.ts';
import { roomWakeKeys } from './wakeKeys.ts';

describe('sync tokens', () => {
  const positions = { rooms: new Map([[0, 5], [2, 9]]), accountData: 1, receipts: 2, typing: 3, toDevice: 4, deviceLists: 6, presence: 7 };

  it('round-trip every stream position, with absent partitions at 0', () => {
    const token = encodeSyncToken(positions);
    expect(token).toBe('s5.0.9_1_2_3_4_6_7');
    expect(decodeSyncToken(token)).toEqual({ ...positions, rooms: new Map([[0, 5], [1, 0], [2, 9]]) });
    expect(encodeSyncToken({ ...positions, rooms: new Map() })).toBe('s_1_2_3_4_6_7');
    expect(decodeSyncToken('s_1_2_3_4_6_7')?.rooms.size).toBe(0);
  });

  it('refuse malformed tokens with M_INVALID_PARAM', () => {
    for (const bad of ['', 'x', 's1_2', 's1.a_1_2_3_4_5_6', 's1_1_2_3_4_5_6_7', 't12']) {
      expect(decodeSyncToken(bad)).toBeUndefined();
      expect(() => parseSyncToken(bad)).toThrow(expect.objectContaining({ errcode: 'M_INVALID_PARAM' }));
    }
  });
});

describe('planRooms', () => {
  const change = (roomId: string, offset: number, membership: string): UserMembershipChange => ({ roomId, partition: 0, offset, membership, eventId: `$${offset}` });
  const options = (extra: Partial<PlanOptions> = {}): PlanOptions => ({
    upTo: new Map([[0, 100]]), fullState: false, includeLeave: false, forgotten: new Set(), roomAllowed: () => true, ...extra,
  });
  const sections = (plans: ReturnType<typeof planRooms>) => plans.map((plan) => [plan.roomId, plan.section]);

  it('lists joined, invited and knocked rooms initially, left ones only with include_leave', () => {
    const changes = [change('!a', 1, 'join'), change('!b', 2, 'invite'), change('!c', 3, 'knock'), change('!d', 4, 'join'), change('!d', 5, 'leave')];
    expect(sections(planRooms(changes, options()))).toEqual([['!a', 'join'], ['!b', 'invite'], ['!c', 'knock']]);
    expect(sections(planRooms(changes, options({ includeLeave: true })))).toContainEqual(['!d', 'leave']);
    expect(sections(planRooms(changes, options({ includeLeave: true, forgotten: new Set(['!d']) })))).not.toContainEqual(['!d', 'leave']);
    expect(sections(planRooms(changes, options({ roomAllowed: (id) => id !== '!a' })))).not.toContainEqual(['!a', 'join']);
  });

  it('incrementally: new joins in full, old joins from since, only changed invites, leaves up to the leave', () => {
    const changes = [change('!old', 1, 'join'), change('!new', 2, 'invite'), change('!new', 60, 'join'),
      change('!inv', 3, 'invite'), change('!gone', 4, 'join'), change('!gone', 70, 'leave')];
    const plans = planRooms(changes, options({ since: new Map([[0, 50]]) }));
    expect(sections(plans)).toEqual([['!old', 'join'], ['!new', 'join'], ['!gone', 'leave']]);
    const byRoom = new Map(plans.map((plan) => [plan.roomId, plan]));
    expect(byRoom.get('!old')).toMatchObject({ window: { from: 50, to: 100, fullState: false }, newToClient: false });
    expect(byRoom.get('!new')).toMatchObject({ window: { to: 100, fullState: true }, newToClient: true });
    expect(byRoom.get('!gone')).toMatchObject({ window: { from: 50, to: 71 } });
  });
});

describe('event_fields', () => {
  it('keeps only the listed paths, escaped dots included', () => {
    const event = { type: 't', content: { body: 'b', 'm.relates_to': { x: 1 }, other: 2 }, sender: '@a:x' };
    expect(applyEventFields(event, ['type', 'content.body', 'content.m\\.relates_to', 'missing.path'])).toEqual({
      type: 't', content: { body: 'b', 'm.relates_to': { x: 1 } },
    });
    expect(applyEventFields(event, undefined)).toBe(event);
  });
});

describe('roomWakeKeys', () => {
  it('names the rooms of accepted events and the targets of membership events', () => {
    const entry = (value: unknown): LogEntry => ({ topic: 't', partition: 0, offset: 0, key: '!r', value: value as LogEntry['value'], headers: {}, timestamp: 0 });
    expect(roomWakeKeys([
      entry({ v: 1, type: 'pdu.accepted', roomId: '!r', pdu: { type: 'm.room.member', state_key: '@bob:x' } }),
      entry({ v: 1, type: 'pdu.accepted', roomId: '!s', pdu: { type: 'm.room.message' } }),
      entry({ v: 1, type: 'pdu.rejected', roomId: '!t', pdu: { type: 'm.room.message' } }),
    ])).toEqual(['!r', '@bob:x', '!s']);
  });
});
