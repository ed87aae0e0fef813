import { BoundedMap } from '../../boundedMap.ts';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../json.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import { readUpTo, type OwnReceipt } from '../notifications/index.ts';
import { effectiveRuleset, type PushRuleset } from '../userData/index.ts';
import type { SyncContext } from './context.ts';
import { roomHistory, TEST_ROOM } from '../../../test/builders/index.ts';
import { countUnread, UNREAD_CHUNK, unreadNotifications, userRules, type UnreadCounts, type UserRules } from './unread.ts';

const ROOM = TEST_ROOM;
const ME = '@alice:x';
const BOB = '@bob:x';

/** A room's history as the read model holds it, with the windows unread counts ask for. */
const room = () => {
  const { events, calls, add, ctx, redact: redactAs } = roomHistory(ME);
  const redact = (target: StoredEvent): StoredEvent => redactAs(target, BOB);
  // A created room: creator bob (100), alice joined as "Alice Liddell".
  add(BOB, 'm.room.create', { creator: BOB }, '');
  add(BOB, 'm.room.member', { membership: 'join' }, BOB);
  add(BOB, 'm.room.power_levels', { users: { [BOB]: 100 } }, '');
  add(ME, 'm.room.member', { membership: 'join', displayname: 'Alice Liddell' }, ME);
  for (let i = 0; i < 3; i++) add(`@m${i}:x`, 'm.room.member', { membership: 'join' }, `@m${i}:x`);
  return { ctx, add, redact, calls, events, end: () => events.length, joined: 3 };
};

const rules = (edit: (ruleset: PushRuleset) => PushRuleset = (r) => r): UserRules => {
  const ruleset = edit(effectiveRuleset(ME, undefined));
  return { ruleset, key: JSON.stringify(ruleset) };
};
const text = (body: string, extra: JsonObject = {}): JsonObject => ({ msgtype: 'm.text', body, ...extra });
const noReceipts = (joinedAt: number) => readUpTo([], new Map(), joinedAt);

const count = async (r: ReturnType<typeof room>, userRules: UserRules, cache?: UnreadCounts, after = r.joined) =>
  (await countUnread(r.ctx, ROOM, ME, noReceipts(after), r.end(), userRules, cache)).get('main') ?? { notifications: 0, highlights: 0 };

describe('unread counts by push rules', () => {
  it('counts messages from others, highlights intentional mentions (m.mentions, @room by power) and never own events', async () => {
    const r = room();
    r.add(BOB, 'm.room.message', text('hello'));
    r.add(ME, 'm.room.message', text('my own, naming Alice Liddell'));
    r.add(BOB, 'm.room.message', text('hey', { 'm.mentions': { user_ids: [ME] } }));
    // Since v1.17 the default rules no longer match display names in the body.
    r.add(BOB, 'm.room.message', text('is Alice Liddell here?'));
    r.add('@m0:x', 'm.room.message', text('@room wake up', { 'm.mentions': { room: true } }));
    r.add(BOB, 'm.room.message', text('@room listen', { 'm.mentions': { room: true } }));
    r.add(BOB, 'm.room.topic', { topic: 'state does not notify' }, '');
    expect(await count(r, rules())).toEqual({ notifications: 5, highlights: 2 });
  });

  it('matches contains_display_name (a user rule) against the display name the user had when the event arrived', async () => {
    const r = room();
    const byName = rules((rs) => ({
      ...rs, override: [{ rule_id: 'name', default: false, enabled: true, conditions: [{ kind: 'contains_display_name' }], actions: ['notify', { set_tweak: 'highlight' }] }, ...rs.override],
    }));
    r.add(BOB, 'm.room.message', text('Alice Liddell?'));
    r.add(ME, 'm.room.member', { membership: 'join', displayname: 'Queen Alice' }, ME);
    r.add(BOB, 'm.room.message', text('Alice Liddell!'));
    r.add(BOB, 'm.room.message', text('Queen Alice!'));
    expect(await count(r, byName)).toEqual({ notifications: 3, highlights: 2 });
  });

  it('applies a keyword rule, a disabled default rule and a room dont_notify rule', async () => {
    const r = room();
    r.add(BOB, 'm.room.message', text('the cake is ready'));
    r.add(BOB, 'm.room.message', text('nothing to see'));
    const keyword = rules((rs) => ({ ...rs, content: [{ rule_id: 'cake', default: false, enabled: true, pattern: 'cake', actions: ['notify', { set_tweak: 'highlight' }] }, ...rs.content] }));
    expect(await count(r, keyword)).toEqual({ notifications: 2, highlights: 1 });
    const noMessages = rules((rs) => ({ ...rs, underride: rs.underride.map((rule) => (rule.rule_id === '.m.rule.message' ? { ...rule, enabled: false } : rule)) }));
    expect(await count(r, noMessages)).toEqual({ notifications: 0, highlights: 0 });
    const muted = rules((rs) => ({ ...rs, room: [{ rule_id: ROOM, default: false, enabled: true, actions: ['dont_notify'] }] }));
    expect(await count(r, muted)).toEqual({ notifications: 0, highlights: 0 });
  });

  it('follows room_member_count: a two-member room notifies through room_one_to_one with the count at the time', async () => {
    const r = room();
    const noMessage = rules((rs) => ({ ...rs, underride: rs.underride.filter((rule) => rule.rule_id !== '.m.rule.message') }));
    r.add(BOB, 'm.room.message', text('five members'));
    for (let i = 0; i < 3; i++) r.add(`@m${i}:x`, 'm.room.member', { membership: 'leave' }, `@m${i}:x`);
    r.add(BOB, 'm.room.message', text('two members'));
    expect(await count(r, noMessage)).toEqual({ notifications: 1, highlights: 0 });
  });

  it('grants @room highlights by the notifications power level as it stood', async () => {
    const r = room();
    r.add(BOB, 'm.room.power_levels', { users: { [BOB]: 100 }, notifications: { room: 0 } }, '');
    r.add('@m1:x', 'm.room.message', text('@room everyone', { 'm.mentions': { room: true } }));
    r.add(BOB, 'm.room.power_levels', { users: { [BOB]: 100 }, notifications: { room: 100 } }, '');
    r.add('@m1:x', 'm.room.message', text('@room again', { 'm.mentions': { room: true } }));
    expect(await count(r, rules())).toEqual({ notifications: 2, highlights: 1 });
  });

  it('extends a cached count with new events only; a redaction or a rule change counts afresh', async () => {
    const r = room();
    const cache: UnreadCounts = new BoundedMap(1000);
    const first = r.add(BOB, 'm.room.message', text('one'));
    r.add(BOB, 'm.room.message', text('two'));
    expect(await count(r, rules(), cache)).toEqual({ notifications: 2, highlights: 0 });
    r.add(BOB, 'm.room.message', text('three'));
    r.calls.evaluated = 0;
    expect(await count(r, rules(), cache)).toEqual({ notifications: 3, highlights: 0 });
    expect(r.calls.evaluated).toBe(1);
    r.calls.windows = 0;
    expect(await count(r, rules(), cache)).toEqual({ notifications: 3, highlights: 0 });
    expect(r.calls.windows).toBe(0);
    r.redact(first);
    expect(await count(r, rules(), cache)).toEqual({ notifications: 2, highlights: 0 });
    const muted = rules((rs) => ({ ...rs, room: [{ rule_id: ROOM, default: false, enabled: true, actions: ['dont_notify'] }] }));
    expect(await count(r, muted, cache)).toEqual({ notifications: 0, highlights: 0 });
    expect(await count(r, rules(), cache)).toEqual(await count(r, rules(), undefined));
  });

  it('reads a long unread history in chunks, carrying the push context across them', async () => {
    const r = room();
    const noMessage = rules((rs) => ({ ...rs, underride: rs.underride.filter((rule) => rule.rule_id !== '.m.rule.message') }));
    for (let i = 0; i < UNREAD_CHUNK; i++) r.add(BOB, 'm.room.message', text(`m${i}`));
    // Past the first chunk the room becomes one-to-one: only the context carried over says so.
    for (let i = 0; i < 3; i++) r.add(`@m${i}:x`, 'm.room.member', { membership: 'leave' }, `@m${i}:x`);
    r.add(BOB, 'm.room.message', text('now two of us'));
    r.calls.windows = 0;
    expect(await count(r, noMessage)).toEqual({ notifications: 1, highlights: 0 });
    expect(r.calls.windows).toBe(2);
    expect(await count(r, rules())).toEqual({ notifications: UNREAD_CHUNK + 1, highlights: 0 });
  });

  it('clears by the furthest of m.read and m.read.private, per thread with threaded receipts', async () => {
    const r = room();
    const root = r.add(BOB, 'm.room.message', text('thread root'));
    const inThread = (body: string) => r.add(BOB, 'm.room.message', text(body, { 'm.relates_to': { rel_type: 'm.thread', event_id: root.eventId } }));
    const t1 = inThread('t1');
    const main1 = r.add(BOB, 'm.room.message', text('main 1'));
    const t2 = inThread('t2');
    r.add(BOB, 'm.room.message', text('main 2'));
    const at = async (receipts: OwnReceipt[], threaded: boolean) =>
      unreadNotifications(r.ctx, ROOM, ME, [{ roomId: ROOM, partition: 0, offset: r.joined, membership: 'join', eventId: '$e3' }], r.end(),
        { ownReceipts: receipts, rules: rules(), threaded });
    expect(await at([], false)).toEqual({ unread_notifications: { notification_count: 5, highlight_count: 0 } });
    expect(await at([{ eventId: main1.eventId }], false)).toEqual({ unread_notifications: { notification_count: 2, highlight_count: 0 } });
    const threadedReceipts = [{ eventId: main1.eventId, threadId: 'main' }, { eventId: t1.eventId, threadId: root.eventId }];
    expect(await at(threadedReceipts, true)).toEqual({
      unread_notifications: { notification_count: 1, highlight_count: 0 },
      unread_thread_notifications: { [root.eventId]: { notification_count: 1, highlight_count: 0 } },
    });
    expect(await at(threadedReceipts, false)).toEqual({ unread_notifications: { notification_count: 2, highlight_count: 0 } });
    // A thread's receipt further ahead leaves the main timeline's events after the unthreaded one unread.
    expect(await at([{ eventId: t1.eventId }, { eventId: t2.eventId, threadId: root.eventId }], true))
      .toEqual({ unread_notifications: { notification_count: 2, highlight_count: 0 } });
  });
});

describe('unread counts from events read already', () => {
  it('extends a cached count from the timeline when it holds every event of the window, reading nothing', async () => {
    const r = room();
    const cache: UnreadCounts = new BoundedMap(1000);
    r.add(BOB, 'm.room.message', text('one'));
    expect(await count(r, rules(), cache)).toEqual({ notifications: 1, highlights: 0 });
    const since = r.end();
    r.add(ME, 'm.room.message', text('my own'));
    r.add(BOB, 'm.room.message', text('two', { 'm.mentions': { user_ids: [ME] } }));
    const known = { from: since, to: r.end(), events: r.events.slice(since) };
    r.calls.windows = 0;
    const counts = await countUnread(r.ctx, ROOM, ME, noReceipts(r.joined), r.end(), rules(), cache, known);
    expect(counts.get('main')).toEqual({ notifications: 2, highlights: 1 });
    expect(r.calls.windows).toBe(0);
  });

  it('reads the window when the events do not cover it, or counts afresh after a redaction among them', async () => {
    const r = room();
    const cache: UnreadCounts = new BoundedMap(1000);
    const first = r.add(BOB, 'm.room.message', text('one'));
    expect(await count(r, rules(), cache)).toEqual({ notifications: 1, highlights: 0 });
    r.add(BOB, 'm.room.message', text('two'));
    const since = r.end();
    r.add(BOB, 'm.room.message', text('three'));
    r.calls.windows = 0;
    const partial = { from: since, to: r.end(), events: r.events.slice(since) };
    expect((await countUnread(r.ctx, ROOM, ME, noReceipts(r.joined), r.end(), rules(), cache, partial)).get('main'))
      .toEqual({ notifications: 3, highlights: 0 });
    expect(r.calls.windows).toBe(1);
    const before = r.end();
    r.redact(first);
    const redaction = { from: before, to: r.end(), events: r.events.slice(before) };
    expect((await countUnread(r.ctx, ROOM, ME, noReceipts(r.joined), r.end(), rules(), cache, redaction)).get('main'))
      .toEqual({ notifications: 2, highlights: 0 });
  });
});

describe('push rules per sync', () => {
  const server = () => {
    const reads = { count: 0 };
    const ctx = {
      userData: { getPushRules: async () => { reads.count++; return effectiveRuleset(ME, undefined); } },
    } as unknown as SyncContext;
    return { ctx, reads };
  };
  const pushRules = (position: number) => ({ roomId: null, type: 'm.push_rules', content: {}, position });

  it('are read once per response, and again only when the account data stream brought new push rules', async () => {
    const { ctx, reads } = server();
    const sync = {};
    await userRules(ctx, ME, sync, { since: 0, upTo: 5, entries: [] });
    await userRules(ctx, ME, sync, { since: 0, upTo: 5, entries: [] });
    expect(reads.count).toBe(1);
    await userRules(ctx, ME, {}, { since: 5, upTo: 5, entries: [] });
    await userRules(ctx, ME, {}, { since: 5, upTo: 8, entries: [{ roomId: '!r', type: 'm.push_rules', content: {}, position: 7 }] });
    expect(reads.count).toBe(1);
    await userRules(ctx, ME, {}, { since: 8, upTo: 9, entries: [pushRules(9)] });
    expect(reads.count).toBe(2);
    await userRules(ctx, ME, {}, { since: 9, upTo: 9, entries: [] });
    expect(reads.count).toBe(2);
  });

  it('are read again when the sync did not see every change since they were read, or without a window', async () => {
    const { ctx, reads } = server();
    await userRules(ctx, ME, {}, { since: 0, upTo: 5, entries: [] });
    // Changes of (5, 7] were not read by this sync (it starts at 7).
    await userRules(ctx, ME, {}, { since: 7, upTo: 9, entries: [] });
    expect(reads.count).toBe(2);
    // A response behind the remembered position.
    await userRules(ctx, ME, {}, { since: 2, upTo: 4, entries: [] });
    expect(reads.count).toBe(3);
    await userRules(ctx, ME, {});
    expect(reads.count).toBe(4);
    // Another server's user of the same id remembers nothing from this one.
    const other = server();
    await userRules(other.ctx, ME, {}, { since: 4, upTo: 4, entries: [] });
    expect(other.reads.count).toBe(1);
  });
});
