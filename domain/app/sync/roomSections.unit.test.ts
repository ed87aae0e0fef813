import { BoundedMap } from '../../boundedMap.ts';
import { describe, expect, it } from 'vitest';
import { MatrixError } from '../../errors.ts';
import type { Pdu } from '../../events/index.ts';
import type { JsonObject } from '../../json.ts';
import type { MessagesQuery, OffsetRange, StoredEvent, UserMembershipChange, VisibilityHistory } from '../../ports/rooms.ts';
import { BACKFILLED_FLOOR } from '../rooms/index.ts';
import { effectiveRuleset, EMPTY_FILTER, parseFilter } from '../userData/index.ts';
import type { SyncContext } from './context.ts';
import { eventFormatter } from './format.ts';
import type { RoomPlan } from './plan.ts';
import { buildRoom, type RoomExtras } from './roomSections.ts';
import type { UnreadCounts } from './unread.ts';

/** A room /sync builds a timeline for. */
type TimelinePlan = Extract<RoomPlan, { section: 'join' | 'leave' }>;

const ROOM = '!room:x';
const ALICE = '@alice:x';
const BOB = '@bob:x';

/** A room bob joined at offset 2, as the read model holds it, recording the reads /sync makes. */
const room = () => {
  const events: StoredEvent[] = [];
  const reads = { unreadWindows: 0, visibilityHistories: 0 };
  const bundled: { eventIds: unknown[]; visible: readonly OffsetRange[] | undefined }[] = [];
  /** What the timeline read said of each bundled event's children, per bundling. */
  const knownChildren: (ReadonlyMap<string, boolean> | undefined)[] = [];
  let bundleError: Error | undefined;
  const add = (sender: string, type: string, content: JsonObject, stateKey?: string): StoredEvent => {
    const offset = events.length;
    const event: StoredEvent = {
      eventId: `$e${offset}`, roomId: ROOM, roomVersion: '12', partition: 0, offset, type, stateKey: stateKey ?? null, sender,
      originServerTs: 1000 + offset, pdu: { type, sender, content, room_id: ROOM } as unknown as Pdu, redactedBecause: null, local: null,
      replacesState: null, prevContent: null,
    };
    events.push(event);
    return event;
  };
  const memberships = (): UserMembershipChange[] => events
    .filter((event) => event.type === 'm.room.member' && event.stateKey === BOB)
    .map((event) => ({ roomId: ROOM, partition: 0, offset: event.offset, membership: String((event.pdu.content as JsonObject).membership), eventId: event.eventId }));
  const inRanges = (offset: number, visible: readonly OffsetRange[] | undefined): boolean =>
    visible === undefined || visible.some((range) => offset >= range.from && offset < range.to);
  const ctx = {
    rooms: {
      messages: async (_roomId: string, query: MessagesQuery) => events
        .filter((event) => event.offset < query.from && event.offset >= (query.to ?? 0) && inRanges(event.offset, query.visible))
        .reverse().slice(0, query.limit).map((event) => ({ ...event, hasChildren: event.offset % 2 === 1 })),
      stateAt: async () => [],
      event: async (eventId: string) => events.find((event) => event.eventId === eventId),
      visibilityHistory: async (_roomId: string, _userId: string, upTo?: number): Promise<VisibilityHistory> => {
        reads.visibilityHistories++;
        return {
          historyVisibility: [{ offset: 0, value: 'shared', atEvent: true }],
          membership: memberships().filter((change) => upTo === undefined || change.offset < upTo)
            .map((change) => ({ offset: change.offset, value: change.membership, atEvent: true })),
        };
      },
    },
    sync: {
      unreadWindow: async (_roomId: string, userId: string, after: number, before: number, withState: boolean) => {
        reads.unreadWindows++;
        const window = events.filter((e) => e.offset > after && e.offset < before && (e.sender !== userId || e.stateKey !== null));
        return withState ? { events: window, stateBefore: { joinedMembers: 2 } } : { events: window };
      },
      roomSummary: async () => ({ joined: 2, invited: 0, heroes: [ALICE] }),
      stateEvents: async () => [],
    },
    userData: { getPushRules: async () => effectiveRuleset(BOB, undefined) },
    clock: { now: () => 5000 },
    bundleAggregations: async (
      _requester: unknown, _roomId: string, formatted: readonly JsonObject[], visible?: readonly OffsetRange[], known?: ReadonlyMap<string, boolean>,
    ) => {
      bundled.push({ eventIds: formatted.map((event) => event.event_id), visible });
      knownChildren.push(known);
      if (bundleError !== undefined) throw bundleError;
    },
  } as unknown as SyncContext;
  add(ALICE, 'm.room.create', {}, '');
  add(ALICE, 'm.room.member', { membership: 'join' }, ALICE);
  add(BOB, 'm.room.member', { membership: 'join' }, BOB);
  return { ctx, add, reads, bundled, knownChildren, end: () => events.length, memberships, failBundling: (error: Error) => { bundleError = error; } };
};

const extras = (unread: UnreadCounts): RoomExtras => ({
  accountData: [], receipts: new Map(), typing: new Map(), ownReceipts: async () => [], unread, accountDataWindow: { since: 0, upTo: 0 },
});
const text = (body: string): JsonObject => ({ msgtype: 'm.text', body });

describe('buildRoom', () => {
  it('incrementally, for a user joined through the window: bundles without looking visibility up and counts unread from the timeline', async () => {
    const r = room();
    const unread: UnreadCounts = new BoundedMap(100);
    const format = eventFormatter(EMPTY_FILTER, { userId: BOB, deviceId: 'D' }, 5000);
    r.add(ALICE, 'm.room.message', text('one'));
    const initial: TimelinePlan = { section: 'join', roomId: ROOM, partition: 0, changes: r.memberships(), window: { roomId: ROOM, to: r.end(), fullState: true }, newToClient: true };
    const first = await buildRoom(r.ctx, initial, EMPTY_FILTER, BOB, format, extras(unread), { stateAfter: false, deviceId: 'D' });
    expect(first.body.unread_notifications).toEqual({ notification_count: 1, highlight_count: 0 });
    // Initially the ranges were computed: a joined user's last one stays open for children past the window.
    expect(r.bundled).toEqual([{ eventIds: ['$e0', '$e1', '$e2', '$e3'], visible: [{ from: BACKFILLED_FLOOR, to: Number.MAX_SAFE_INTEGER }] }]);

    const since = r.end();
    r.add(ALICE, 'm.room.message', text('two'));
    r.add(BOB, 'm.room.message', text('mine'));
    r.reads.unreadWindows = 0;
    r.reads.visibilityHistories = 0;
    const incremental: TimelinePlan = { ...initial, window: { roomId: ROOM, from: since, to: r.end(), fullState: false }, newToClient: false };
    const next = await buildRoom(r.ctx, incremental, EMPTY_FILTER, BOB, format, extras(unread), { stateAfter: false, deviceId: 'D' });
    expect(next.body.unread_notifications).toEqual({ notification_count: 2, highlight_count: 0 });
    expect(r.bundled[1]).toEqual({ eventIds: ['$e4', '$e5'], visible: undefined });
    // What the timeline read probed is handed on, so bundling needs no probe of its own.
    expect(r.knownChildren[1]).toEqual(new Map([['$e4', false], ['$e5', true]]));
    expect(r.reads).toEqual({ unreadWindows: 0, visibilityHistories: 0 });
  });

  it('reads the unread window when the timeline is limited or filtered', async () => {
    const r = room();
    const unread: UnreadCounts = new BoundedMap(100);
    const format = eventFormatter(EMPTY_FILTER, { userId: BOB, deviceId: 'D' }, 5000);
    const plan = (from: number | undefined): TimelinePlan => ({
      section: 'join', roomId: ROOM, partition: 0, changes: r.memberships(), newToClient: from === undefined,
      window: from === undefined ? { roomId: ROOM, to: r.end(), fullState: true } : { roomId: ROOM, from, to: r.end(), fullState: false },
    });
    await buildRoom(r.ctx, plan(undefined), EMPTY_FILTER, BOB, format, extras(unread));
    let since = r.end();
    for (let i = 0; i < 3; i++) r.add(ALICE, 'm.room.message', text(`m${i}`));
    r.reads.unreadWindows = 0;
    const limited = await buildRoom(r.ctx, plan(since), parseFilter({ room: { timeline: { limit: 2 } } }), BOB, format, extras(unread));
    expect({ limited: limited.timeline.limited, counts: limited.body.unread_notifications, reads: r.reads.unreadWindows })
      .toEqual({ limited: true, counts: { notification_count: 3, highlight_count: 0 }, reads: 1 });
    since = r.end();
    r.add(ALICE, 'm.room.message', text('filtered out'));
    const filtered = await buildRoom(r.ctx, plan(since), parseFilter({ room: { timeline: { types: ['m.room.topic'] } } }), BOB, format, extras(unread));
    expect({ counts: filtered.body.unread_notifications, reads: r.reads.unreadWindows }).toEqual({ counts: { notification_count: 4, highlight_count: 0 }, reads: 2 });
  });

  it('passes a left user’s ranges as they end, and serves the room without aggregations when they may not be read', async () => {
    const r = room();
    const format = eventFormatter(EMPTY_FILTER, { userId: BOB, deviceId: 'D' }, 5000);
    const since = r.end();
    r.add(ALICE, 'm.room.message', text('before the leave'));
    r.add(BOB, 'm.room.member', { membership: 'leave' }, BOB);
    r.add(ALICE, 'm.room.message', text('after the leave'));
    const plan: TimelinePlan = {
      section: 'leave', roomId: ROOM, partition: 0, changes: r.memberships(), newToClient: false,
      window: { roomId: ROOM, from: since, to: 5, fullState: false },
    };
    const left = await buildRoom(r.ctx, plan, EMPTY_FILTER, BOB, format, extras(new BoundedMap(100)));
    expect(r.bundled).toEqual([{ eventIds: ['$e3', '$e4'], visible: [{ from: BACKFILLED_FLOOR, to: 5 }] }]);
    expect(left.changed).toBe(true);

    r.failBundling(new MatrixError('M_FORBIDDEN', 403, 'not in the room'));
    expect((await buildRoom(r.ctx, plan, EMPTY_FILTER, BOB, format, extras(new BoundedMap(100)))).timeline.events).toHaveLength(2);
    r.failBundling(new Error('database down'));
    await expect(buildRoom(r.ctx, plan, EMPTY_FILTER, BOB, format, extras(new BoundedMap(100)))).rejects.toThrow('database down');
  });
});
