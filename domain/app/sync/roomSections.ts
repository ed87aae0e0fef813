/**
 * The per-room objects of a sync response (sync.yaml: Joined Room, Left Room, Invited Room,
 * Knocked Room). Timeline and state come from timeline.ts; ephemeral events, room account data,
 * unread counts and the summary are added here.
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { AccountDataEntry } from '../../ports/userData.ts';
import type { OffsetRange, RoomReadModel, StoredEvent } from '../../ports/rooms.ts';
import { roomToken } from '../rooms/index.ts';
import { eventMatches, roomAllowed, type Filter } from '../userData/index.ts';
import type { SyncContext } from './context.ts';
import { strippedStateEvent, type EventFormatter } from './format.ts';
import type { RoomPlan } from './plan.ts';
import { narrows, roomTimeline, visibleFrom, type RoomTimeline, type TimelineOptions } from './timeline.ts';
import type { OwnReceipt } from '../notifications/index.ts';
import { unreadNotifications, userRules, withIgnoredSenders, type KnownEvents, type UnreadCounts } from './unread.ts';

/** State shown to invitees and knockers (client-server-api § Stripped state: the recommended types). */
const STRIPPED_TYPES = new Set([
  'm.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption', 'm.room.topic',
]);

export interface RoomExtras {
  readonly accountData: readonly AccountDataEntry[];
  /** `m.receipt` content per room changed in the window. */
  readonly receipts: ReadonlyMap<string, JsonObject>;
  /** Rooms whose typing set changed, with who types now. */
  readonly typing: ReadonlyMap<string, readonly string[]>;
  /** The user's own read receipts in a room (for unread counts). */
  ownReceipts(roomId: string): Promise<readonly OwnReceipt[]>;
  /** Unread counts computed earlier, so a later sync counts only the events after them. */
  readonly unread?: UnreadCounts;
  /** The account data stream window `accountData` covers: push rules are re-read only when it moved them. */
  readonly accountDataWindow?: { readonly since: number; readonly upTo: number };
}

export interface BuiltRoom {
  readonly body: JsonObject;
  readonly timeline: RoomTimeline;
  /** False for an incremental room with nothing new (left out of the response). */
  readonly changed: boolean;
}

const roomAccountData = (extras: RoomExtras, filter: Filter, roomId: string): JsonObject[] =>
  extras.accountData
    .filter((entry) => entry.roomId === roomId && roomAllowed(filter.room.accountData, roomId)
      && eventMatches(filter.room.accountData, { type: entry.type }))
    .map((entry) => ({ type: entry.type, content: entry.content }));

const ephemeralEvents = (extras: RoomExtras, filter: Filter, roomId: string): JsonObject[] => {
  if (!roomAllowed(filter.room.ephemeral, roomId)) return [];
  const events: JsonObject[] = [];
  const typing = extras.typing.get(roomId);
  if (typing !== undefined) events.push({ type: 'm.typing', content: { user_ids: [...typing] } });
  const receipts = extras.receipts.get(roomId);
  if (receipts !== undefined) events.push({ type: 'm.receipt', content: receipts });
  return events.filter((event) => eventMatches(filter.room.ephemeral, { type: String(event.type) }));
};

const contentOf = (event: StoredEvent | undefined): JsonObject =>
  event !== undefined && isJsonObject(event.pdu.content) ? event.pdu.content : {};

/** `summary` (sync.yaml RoomSummary): heroes only when the room has neither a name nor a canonical alias. */
const roomSummary = async (ctx: SyncContext, roomId: string, userId: string): Promise<JsonObject> => {
  const [counts, naming] = await Promise.all([
    ctx.sync.roomSummary(roomId, userId),
    ctx.sync.stateEvents(roomId, [['m.room.name', ''], ['m.room.canonical_alias', '']]),
  ]);
  const name = naming.find((event) => event.type === 'm.room.name');
  const alias = naming.find((event) => event.type === 'm.room.canonical_alias');
  const named = typeof contentOf(name).name === 'string' && contentOf(name).name !== '';
  const aliased = typeof contentOf(alias).alias === 'string';
  return {
    ...(named || aliased ? {} : { 'm.heroes': [...counts.heroes] }),
    'm.joined_member_count': counts.joined,
    'm.invited_member_count': counts.invited,
  };
};

/** How a response shows rooms, beside the filter. */
export interface RoomView extends TimelineOptions {
  /** Reads where the user's read receipts point (ownReceipts.ts `receiptTargets`). */
  readonly receiptTargets?: RoomReadModel;
  /** The requesting device: bundled events it sent carry its transaction id. */
  readonly deviceId?: string;
}

/** Far past any offset: a user joined at the window's end sees what follows too (rooms/visibility.ts). */
const OPEN_END = Number.MAX_SAFE_INTEGER;

/**
 * The offsets the user may see, for bundled aggregations, from the ranges /sync computed below
 * `to`: the children of a joined user's events may lie past `to`. Undefined when /sync did not
 * compute them (the aggregation looks them up only if some event has children).
 */
const aggregationRanges = (ranges: readonly OffsetRange[] | undefined, to: number, joined: boolean): readonly OffsetRange[] | undefined => {
  const last = ranges?.[ranges.length - 1];
  if (ranges === undefined || last === undefined || !joined || last.to !== to) return ranges;
  return [...ranges.slice(0, -1), { from: last.from, to: OPEN_END }];
};

/**
 * Incrementally, a room whose newest event is older than the window's start has no timeline and no
 * state delta: nothing of it is read but what the other streams bring (ephemeral, account data).
 */
export const idleSince = (plan: Extract<RoomPlan, { section: 'join' | 'leave' }>): boolean => {
  const { from, to, fullState } = plan.window;
  if (from === undefined || fullState || plan.newToClient) return false;
  const lastOffset = plan.changes[plan.changes.length - 1]?.roomLastOffset;
  return from >= to || (lastOffset !== undefined && lastOffset < from);
};

/**
 * A room new to the client (or sent with its full state) always shows the user's own membership, in
 * `state` or the timeline, even when it falls after the timeline's start but the timeline filter or
 * limit left it out: the client must learn that, and how, it is in the room (client-server-api
 * § Lazy-loading room members asks the same). A state filter that excludes it is obeyed.
 */
const withOwnMembership = async (
  ctx: SyncContext, plan: Extract<RoomPlan, { section: 'join' | 'leave' }>, userId: string, timeline: RoomTimeline, view: RoomView,
  filter: Filter,
): Promise<RoomTimeline> => {
  const own = (event: StoredEvent): boolean => event.type === 'm.room.member' && event.stateKey === userId;
  if (timeline.events.some(own) || timeline.state.some(own)) return timeline;
  const eventId = plan.changes[plan.changes.length - 1]?.eventId;
  const event = eventId === null || eventId === undefined ? undefined : await ctx.rooms.event(eventId);
  if (event === undefined || !eventMatches(filter.room.state, { type: event.type, sender: event.sender, roomId: plan.roomId })) return timeline;
  view.sentMembers?.record([event]);
  return { ...timeline, state: [...timeline.state, event] };
};

export const buildRoom = async (
  ctx: SyncContext, plan: Extract<RoomPlan, { section: 'join' | 'leave' }>, filter: Filter, userId: string,
  format: EventFormatter, extrasReady: RoomExtras | Promise<RoomExtras>, view: RoomView = { stateAfter: false },
): Promise<BuiltRoom> => {
  const window = { ...plan.window };
  const unreadCounts = async (known: KnownEvents | undefined): Promise<JsonObject> => {
    const extras = await extrasReady;
    const unreadCtx = view.receiptTargets === undefined ? ctx : { ...ctx, rooms: view.receiptTargets };
    return unreadNotifications(unreadCtx, plan.roomId, userId, plan.changes, window.to, {
      ownReceipts: await extras.ownReceipts(plan.roomId),
      rules: withIgnoredSenders(await userRules(ctx, userId, extras, extras.accountDataWindow === undefined ? undefined
        : { ...extras.accountDataWindow, entries: extras.accountData }), ctx.ignoredSenders),
      threaded: filter.room.timeline.unreadThreadNotifications, ...(extras.unread === undefined ? {} : { cache: extras.unread }),
      ...(known === undefined ? {} : { known }),
    });
  };
  let timeline: RoomTimeline;
  let ranges: readonly OffsetRange[] | undefined;
  let known: KnownEvents | undefined;
  let unreadEarly: Promise<JsonObject> | undefined;
  if (idleSince(plan)) {
    timeline = { events: [], limited: false, prevBatch: roomToken(window.to), state: [] };
  } else {
    // Initially, or through a narrowing filter, the timeline never holds the unread window: its
    // read runs beside the timeline's instead of after it (the same counts; unused when the room
    // turns out unchanged).
    if (plan.section === 'join' && (window.from === undefined || narrows(filter.room.timeline))) {
      unreadEarly = unreadCounts(undefined);
      unreadEarly.catch(() => undefined);
    }
    const visible = await visibleFrom(ctx, plan.roomId, userId, window, plan.changes);
    ranges = visible.ranges;
    timeline = await roomTimeline(visible.ctx, { ...window, visibleFrom: visible.from }, filter, userId, view);
    if (plan.newToClient || window.fullState) timeline = await withOwnMembership(ctx, plan, userId, timeline, view, filter);
    // Whole (neither limited, filtered nor cut by visibility): the timeline holds every event of
    // [from, to), which are the new unread events too.
    if (window.from !== undefined && ranges === undefined && !timeline.limited && !narrows(filter.room.timeline)) {
      known = { from: window.from, to: window.to, events: timeline.events };
    }
  }
  const events = timeline.events.map(format);
  if (ctx.bundleAggregations !== undefined && events.length > 0) {
    const joined = plan.changes[plan.changes.length - 1]?.membership === 'join';
    // The timeline read probed each event for children already: no second round trip for it.
    const probed = new Map(timeline.events.flatMap((event) => (event.hasChildren === undefined ? [] : [[event.eventId, event.hasChildren] as const])));
    try {
      await ctx.bundleAggregations(
        { userId, deviceId: view.deviceId ?? '' }, plan.roomId, events, aggregationRanges(ranges, window.to, joined), probed);
    } catch (error) {
      // A room the user may no longer read is served without aggregations rather than failing /sync.
      if (!(error instanceof MatrixError)) throw error;
    }
  }
  const extras = await extrasReady;
  const accountData = roomAccountData(extras, filter, plan.roomId);
  const body: JsonObject = {
    timeline: { events, limited: timeline.limited, prev_batch: timeline.prevBatch },
    // Since v1.16, `use_state_after` swaps `state` for `state_after` (required, even when empty).
    [view.stateAfter ? 'state_after' : 'state']: { events: timeline.state.map(format) },
    account_data: { events: accountData },
  };
  let changed = plan.newToClient || plan.window.fullState || timeline.events.length > 0 || timeline.state.length > 0 || accountData.length > 0;
  if (plan.section === 'join') {
    const ephemeral = ephemeralEvents(extras, filter, plan.roomId);
    changed ||= ephemeral.length > 0;
    body.ephemeral = { events: ephemeral };
    if (changed) {
      Object.assign(body, await (unreadEarly ?? unreadCounts(known)));
      const membersChanged = [...timeline.events, ...timeline.state].some((event) => event.type === 'm.room.member');
      if (plan.newToClient || membersChanged) body.summary = await roomSummary(ctx, plan.roomId, userId);
    }
  }
  return { body, timeline, changed };
};

/** `invite_state` / `knock_state`: stripped state as of the membership event, with that event. */
export const strippedRoom = async (ctx: SyncContext, plan: Extract<RoomPlan, { section: 'invite' | 'knock' }>, userId: string): Promise<JsonObject> => {
  // An invite to a room we are not in shows what the inviting server said of the room, and the invite.
  const received = plan.change.eventId === null ? undefined : await ctx.rooms.strippedState(plan.change.eventId);
  if (received !== undefined) {
    const [invite] = await ctx.rooms.stateAt(plan.roomId, plan.change.offset).then((state) => state.filter((event) => event.eventId === plan.change.eventId));
    const events = [...received, ...(invite === undefined ? [] : [strippedStateEvent(invite)])];
    return plan.section === 'invite' ? { invite_state: { events } } : { knock_state: { events } };
  }
  const state = await ctx.rooms.stateAt(plan.roomId, plan.change.offset);
  const member = state.find((event) => event.type === 'm.room.member' && event.stateKey === userId);
  const events = state
    .filter((event) => STRIPPED_TYPES.has(event.type)
      || (event.type === 'm.room.member' && (event.stateKey === userId || event.stateKey === member?.sender)))
    .map(strippedStateEvent);
  return plan.section === 'invite' ? { invite_state: { events } } : { knock_state: { events } };
};
