// Remembered unread counts: each /sync evaluates only the events after the previous one, and the
// answers are those of a count made afresh (new events, moved receipts, changed rules, threads).
import { BoundedMap } from '../../boundedMap.ts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../json.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import type { OwnReceipt } from '../notifications/index.ts';
import { effectiveRuleset, type PushRuleset } from '../userData/index.ts';
import { roomHistory, TEST_ROOM } from '../../../test/builders/index.ts';
import { unreadNotifications, type UnreadCounts, type UserRules } from './unread.ts';

const ROOM = TEST_ROOM;
const ME = '@alice:x';
const BOB = '@bob:x';
const CAROL = '@carol:x';

/** A room's history as the read model holds it; counts how many events unread windows hand out. */
const room = () => {
  const { events, calls, add, ctx, redact: redactAs } = roomHistory(ME);
  const redact = (target: StoredEvent, sender = BOB): StoredEvent => redactAs(target, sender);
  add(BOB, 'm.room.create', { creator: BOB }, '');
  add(BOB, 'm.room.member', { membership: 'join' }, BOB);
  add(BOB, 'm.room.power_levels', { users: { [BOB]: 100 } }, '');
  add(ME, 'm.room.member', { membership: 'join', displayname: 'Alice' }, ME);
  add(CAROL, 'm.room.member', { membership: 'join' }, CAROL);
  const joined = 3;
  /** unread_notifications as /sync answers them, with the memo `cache` or counted afresh. */
  const sync = (receipts: readonly OwnReceipt[], rules: UserRules, threaded: boolean, cache?: UnreadCounts) =>
    unreadNotifications(ctx, ROOM, ME, [{ roomId: ROOM, partition: 0, offset: joined, membership: 'join', eventId: `$e${joined}` }],
      events.length, { ownReceipts: receipts, rules, threaded, ...(cache === undefined ? {} : { cache }) });
  return { add, redact, calls, events, sync };
};

const rulesOf = (edit: (ruleset: PushRuleset) => PushRuleset = (r) => r): UserRules => {
  const ruleset = edit(effectiveRuleset(ME, undefined));
  return { ruleset, key: JSON.stringify(ruleset) };
};
const DEFAULTS = rulesOf();
/** A user rule highlighting the display name (the legacy `contains_display_name`). */
const BY_NAME = rulesOf((rs) => ({
  ...rs, override: [{ rule_id: 'name', default: false, enabled: true, conditions: [{ kind: 'contains_display_name' }], actions: ['notify', { set_tweak: 'highlight' }] }, ...rs.override],
}));
const KEYWORD = rulesOf((rs) => ({ ...rs, content: [{ rule_id: 'cake', default: false, enabled: true, pattern: 'cake', actions: ['notify', { set_tweak: 'highlight' }] }] }));
const MUTED = rulesOf((rs) => ({ ...rs, room: [{ rule_id: ROOM, default: false, enabled: true, actions: ['dont_notify'] }] }));
const text = (body: string, extra: JsonObject = {}): JsonObject => ({ msgtype: 'm.text', body, ...extra });
const counts = (notifications: number, highlights: number) => ({ notification_count: notifications, highlight_count: highlights });

describe('remembered unread counts', () => {
  it('evaluate only the new events on each sync, highlighting mentions and the display name', async () => {
    const r = room();
    const cache: UnreadCounts = new BoundedMap(1000);
    r.add(BOB, 'm.room.message', text('hello'));
    expect(await r.sync([], BY_NAME, false, cache)).toEqual({ unread_notifications: counts(1, 0) });
    r.calls.evaluated = 0;
    r.add(BOB, 'm.room.message', text('hey alice!'));
    r.add(CAROL, 'm.room.message', text('ping', { 'm.mentions': { user_ids: [ME] } }));
    expect(await r.sync([], BY_NAME, false, cache)).toEqual({ unread_notifications: counts(3, 2) });
    expect(r.calls.evaluated).toBe(2);
    // The display name as it stood when each event arrived.
    r.add(ME, 'm.room.member', { membership: 'join', displayname: 'Queen' }, ME);
    r.add(BOB, 'm.room.message', text('alice?'));
    r.add(BOB, 'm.room.message', text('my queen'));
    r.calls.evaluated = 0;
    expect(await r.sync([], BY_NAME, false, cache)).toEqual({ unread_notifications: counts(5, 3) });
    expect(r.calls.evaluated).toBe(3);
    r.calls.evaluated = 0;
    expect(await r.sync([], BY_NAME, false, cache)).toEqual({ unread_notifications: counts(5, 3) });
    expect(r.calls.evaluated).toBe(0);
    expect(await r.sync([], BY_NAME, false)).toEqual({ unread_notifications: counts(5, 3) });
  });

  it('count from a moved receipt, and again only the new events after it', async () => {
    const r = room();
    const cache: UnreadCounts = new BoundedMap(1000);
    r.add(BOB, 'm.room.message', text('one'));
    const two = r.add(BOB, 'm.room.message', text('two'));
    r.add(BOB, 'm.room.message', text('three', { 'm.mentions': { user_ids: [ME] } }));
    expect(await r.sync([], DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(3, 1) });
    r.calls.evaluated = 0;
    expect(await r.sync([{ eventId: two.eventId }], DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(1, 1) });
    expect(r.calls.evaluated).toBe(1);
    r.add(BOB, 'm.room.message', text('four'));
    r.calls.evaluated = 0;
    expect(await r.sync([{ eventId: two.eventId }], DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(2, 1) });
    expect(r.calls.evaluated).toBe(1);
  });

  it('count afresh when the push rules change, and follow the new ones', async () => {
    const r = room();
    const cache: UnreadCounts = new BoundedMap(1000);
    r.add(BOB, 'm.room.message', text('the cake is ready'));
    r.add(BOB, 'm.room.message', text('nothing to see'));
    expect(await r.sync([], DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(2, 0) });
    expect(await r.sync([], KEYWORD, false, cache)).toEqual({ unread_notifications: counts(2, 1) });
    r.add(BOB, 'm.room.message', text('more cake'));
    expect(await r.sync([], KEYWORD, false, cache)).toEqual({ unread_notifications: counts(3, 2) });
    expect(await r.sync([], MUTED, false, cache)).toEqual({ unread_notifications: counts(0, 0) });
    expect(await r.sync([], DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(3, 0) });
  });

  it('keep threads apart, with threaded receipts', async () => {
    const r = room();
    const cache: UnreadCounts = new BoundedMap(1000);
    const root = r.add(BOB, 'm.room.message', text('root'));
    const reply = (body: string, extra: JsonObject = {}) =>
      r.add(CAROL, 'm.room.message', text(body, { 'm.relates_to': { rel_type: 'm.thread', event_id: root.eventId }, ...extra }));
    const t1 = reply('t1');
    expect(await r.sync([], DEFAULTS, true, cache)).toEqual({
      unread_notifications: counts(1, 0), unread_thread_notifications: { [root.eventId]: counts(1, 0) },
    });
    reply('t2', { 'm.mentions': { user_ids: [ME] } });
    r.add(BOB, 'm.room.message', text('main'));
    const threadRead = [{ eventId: root.eventId, threadId: 'main' }, { eventId: t1.eventId, threadId: root.eventId }];
    expect(await r.sync(threadRead, DEFAULTS, true, cache)).toEqual({
      unread_notifications: counts(1, 0), unread_thread_notifications: { [root.eventId]: counts(1, 1) },
    });
    r.calls.evaluated = 0;
    reply('t3');
    expect(await r.sync(threadRead, DEFAULTS, true, cache)).toEqual({
      unread_notifications: counts(1, 0), unread_thread_notifications: { [root.eventId]: counts(2, 1) },
    });
    expect(r.calls.evaluated).toBe(1);
    expect(await r.sync(threadRead, DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(3, 1) });
  });

  it('go on from the last count past a redaction of an event read before the receipt, or read with the new events', async () => {
    const r = room();
    const cache: UnreadCounts = new BoundedMap(1000);
    const old = r.add(BOB, 'm.room.message', text('read already'));
    const receipt = [{ eventId: old.eventId }];
    r.add(BOB, 'm.room.message', text('one'));
    expect(await r.sync(receipt, DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(1, 0) });
    r.calls.evaluated = 0;
    r.redact(old);
    const fresh = r.add(BOB, 'm.room.message', text('two'));
    r.redact(fresh, CAROL);
    expect(await r.sync(receipt, DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(1, 0) });
    expect(r.calls.evaluated).toBe(3);
    expect(await r.sync(receipt, DEFAULTS, false)).toEqual({ unread_notifications: counts(1, 0) });
  });

  it('count afresh when a redaction strikes an event counted before, or a state event of the push context', async () => {
    const r = room();
    const cache: UnreadCounts = new BoundedMap(1000);
    const levels = r.add(BOB, 'm.room.power_levels', { users: { [BOB]: 100 }, notifications: { room: 0 } }, '');
    const receipt = [{ eventId: levels.eventId }];
    const counted = r.add(BOB, 'm.room.message', text('one'));
    r.add(CAROL, 'm.room.message', text('@room', { 'm.mentions': { room: true } }));
    expect(await r.sync(receipt, DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(2, 1) });
    r.redact(counted);
    r.calls.evaluated = 0;
    expect(await r.sync(receipt, DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(1, 1) });
    // The redaction read while extending, then the whole window since the receipt again.
    expect(r.calls.evaluated).toBe(1 + 3);
    // Redacted power levels lose `notifications`: @room needs 50 again, which carol lacks.
    r.redact(levels);
    r.add(CAROL, 'm.room.message', text('@room again', { 'm.mentions': { room: true } }));
    expect(await r.sync(receipt, DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(2, 0) });
    expect(await r.sync(receipt, DEFAULTS, false)).toEqual({ unread_notifications: counts(2, 0) });
    // A redaction redacted in turn no longer names its target (before v11): it may have struck a counted event.
    const struck = r.add(BOB, 'm.room.message', text('struck'));
    expect(await r.sync(receipt, DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(3, 0) });
    r.redact(r.redact(struck));
    expect(await r.sync(receipt, DEFAULTS, false, cache)).toEqual({ unread_notifications: counts(2, 0) });
  });

  it('always equal a count made afresh, over any run of events, receipts, rule changes and syncs', async () => {
    const bodies = ['hello', 'cake!', 'hey alice', 'my queen', '@room'];
    const op = fc.oneof(
      fc.record({ op: fc.constant('message' as const), sender: fc.constantFrom(BOB, CAROL, ME), body: fc.constantFrom(...bodies),
        mention: fc.constantFrom('none', 'me', 'room'), thread: fc.boolean() }),
      fc.record({ op: fc.constant('name' as const), name: fc.constantFrom('Alice', 'Queen') }),
      fc.record({ op: fc.constant('member' as const), membership: fc.constantFrom('join', 'leave') }),
      fc.record({ op: fc.constant('levels' as const), room: fc.constantFrom(0, 100) }),
      fc.record({ op: fc.constant('receipt' as const), back: fc.nat(6), thread: fc.boolean() }),
      fc.record({ op: fc.constant('rules' as const), rules: fc.constantFrom(DEFAULTS, BY_NAME, KEYWORD, MUTED) }),
      fc.record({ op: fc.constant('sync' as const), threaded: fc.boolean() }),
      fc.record({ op: fc.constant('redact' as const), back: fc.nat(8), sender: fc.constantFrom(BOB, ME) }),
    );
    let compared = 0;
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
      const r = room();
      const cache: UnreadCounts = new BoundedMap(1000);
      const root = r.add(BOB, 'm.room.message', text('root'));
      let rules = DEFAULTS;
      const receipts = new Map<string, OwnReceipt>();
      for (const step of ops) {
        switch (step.op) {
          case 'message': {
            const mentions: JsonObject = step.mention === 'none' ? {} : { 'm.mentions': step.mention === 'me' ? { user_ids: [ME] } : { room: true } };
            const relation: JsonObject = step.thread ? { 'm.relates_to': { rel_type: 'm.thread', event_id: root.eventId } } : {};
            r.add(step.sender, 'm.room.message', text(step.body, { ...mentions, ...relation }));
            break;
          }
          case 'name': r.add(ME, 'm.room.member', { membership: 'join', displayname: step.name }, ME); break;
          case 'member': r.add(CAROL, 'm.room.member', { membership: step.membership }, CAROL); break;
          case 'levels': r.add(BOB, 'm.room.power_levels', { users: { [BOB]: 100 }, notifications: { room: step.room } }, ''); break;
          case 'receipt': {
            const target = r.events[Math.max(0, r.events.length - 1 - step.back)]!;
            const threadId = step.thread ? root.eventId : undefined;
            receipts.set(threadId ?? '', threadId === undefined ? { eventId: target.eventId } : { eventId: target.eventId, threadId });
            break;
          }
          case 'rules': rules = step.rules; break;
          case 'redact': {
            const target = r.events[Math.max(0, r.events.length - 1 - step.back)]!;
            if (target.redactedBecause === null && target.type !== 'm.room.create') r.redact(target, step.sender);
            break;
          }
          case 'sync': {
            const own = [...receipts.values()];
            expect(await r.sync(own, rules, step.threaded, cache)).toEqual(await r.sync(own, rules, step.threaded));
            compared += 1;
          }
        }
      }
      for (const threaded of [false, true]) {
        const own = [...receipts.values()];
        expect(await r.sync(own, rules, threaded, cache)).toEqual(await r.sync(own, rules, threaded));
        compared += 1;
      }
    }), { numRuns: 1_000 });
    expect(compared).toBeGreaterThan(2_000);
  });
});
