/**
 * A room's `timeline` and `state` in a sync response (client-server-api § Syncing, sync.yaml):
 * the newest events of a window of the room's partition, `limited` when older ones were left out,
 * `prev_batch` for /messages, and the state at the start of the timeline (or, for `state_after`,
 * at its end) — in full for a room the client does not know yet, else only what changed since `since`.
 */
import type { EventFilter as PortEventFilter, OffsetRange, StoredEvent, UserMembershipChange } from '../../ports/rooms.ts';
import { restrictedToVisible, roomToken, visibleRangesBelow } from '../rooms/index.ts';
import { eventMatches, type Filter, type RoomEventFilter } from '../userData/index.ts';
import type { SyncContext } from './context.ts';
import { lazyMembersNeeded, type SentMembers } from './lazyMembers.ts';

/** Synapse's default; the spec leaves the timeline limit to the server. */
export const DEFAULT_TIMELINE_LIMIT = 10;
const MAX_TIMELINE_LIMIT = 1000;

export interface RoomWindow {
  readonly roomId: string;
  /** Exclusive upper bound: events of this response are below it. */
  readonly to: number;
  /** Inclusive lower bound for an incremental room (the client has everything below). */
  readonly from?: number;
  /** Offsets below it are hidden by history visibility. */
  readonly visibleFrom?: number;
  /** Send the full state at the timeline's start (new room for the client, or full_state). */
  readonly fullState: boolean;
}

export interface RoomTimeline {
  readonly events: StoredEvent[];
  readonly limited: boolean;
  readonly prevBatch: string;
  readonly state: StoredEvent[];
}

const portFilter = (filter: RoomEventFilter): PortEventFilter => ({
  ...(filter.types === undefined ? {} : { types: filter.types }),
  notTypes: filter.notTypes,
  ...(filter.senders === undefined ? {} : { senders: filter.senders }),
  notSenders: filter.notSenders,
  ...(filter.containsUrl === undefined ? {} : { containsUrl: filter.containsUrl }),
});

/** Whether the filter may leave events of the window out of the timeline. */
export const narrows = (filter: RoomEventFilter): boolean =>
  filter.types !== undefined || filter.senders !== undefined || filter.notTypes.length > 0 || filter.notSenders.length > 0
  || filter.containsUrl !== undefined;

export const timelineLimit = (filter: Filter): number => Math.min(filter.room.timeline.limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT);

/**
 * Whether the room has any event in [from, to). Without one the state at `to` is the state at
 * `from`, so the state delta is empty without loading the room's state twice.
 */
const anyEventBetween = async (ctx: SyncContext, roomId: string, from: number, to: number): Promise<boolean> =>
  to > from && (await ctx.rooms.messages(roomId, { dir: 'b', from: to, to: from, limit: 1 })).length > 0;

export interface TimelineOptions {
  /**
   * `use_state_after` (since v1.16): the state delta runs to the timeline's end (`state_after`)
   * instead of its start (`state`).
   */
  readonly stateAfter: boolean;
  /** With lazy-loading and without `include_redundant_members`: what the device was sent (lazyMembers.ts). */
  readonly sentMembers?: SentMembers;
}

/**
 * Whether state may have changed between `since` and the point the state is taken at, beyond what
 * the timeline shows: a limited timeline left a gap; a narrowing filter may have hidden events
 * before the timeline's start; for `state_after` the timeline's own state events count too (the
 * client applies only `state_after`). Otherwise the delta is empty without loading the state twice.
 */
const stateMayHaveChanged = async (
  ctx: SyncContext, roomId: string, from: number, timeline: { events: readonly StoredEvent[]; limited: boolean; start: number },
  filter: Filter, stateAfter: boolean,
): Promise<boolean> => {
  if (timeline.limited) return true;
  if (stateAfter) return narrows(filter.room.timeline) || timeline.events.some((event) => event.stateKey !== null);
  return narrows(filter.room.timeline) && (await anyEventBetween(ctx, roomId, from, timeline.start));
};

export const roomTimeline = async (
  ctx: SyncContext, window: RoomWindow, filter: Filter, userId: string, options: TimelineOptions = { stateAfter: false },
): Promise<RoomTimeline> => {
  const { roomId, to } = window;
  const limit = timelineLimit(filter);
  const lower = Math.max(window.from ?? 0, window.visibleFrom ?? 0);
  const found = to <= lower ? [] : await ctx.rooms.messages(roomId, {
    dir: 'b', from: to, to: lower, limit: limit + 1, filter: portFilter(filter.room.timeline),
  });
  const limited = found.length > limit;
  const events = found.slice(0, limit).reverse();
  const start = events[0]?.offset ?? to;
  // `state` is taken at the timeline's start, `state_after` at its end.
  const at = options.stateAfter ? to : start;

  let state: StoredEvent[];
  let stateThere: StoredEvent[] | undefined;
  const stateAtPoint = async (): Promise<StoredEvent[]> => (stateThere ??= await ctx.rooms.stateAt(roomId, at - 1));
  if (window.fullState || window.from === undefined) {
    state = await stateAtPoint();
  } else if (await stateMayHaveChanged(ctx, roomId, window.from, { events, limited, start }, filter, options.stateAfter)) {
    // The state that changed between `since` and that point, by event id.
    const known = new Set((await ctx.rooms.stateAt(roomId, window.from - 1)).map((event) => event.eventId));
    state = (await stateAtPoint()).filter((event) => !known.has(event.eventId));
  } else {
    state = [];
  }

  const stateFilter = filter.room.state;
  if (stateFilter.lazyLoadMembers) {
    // Only the members the timeline needs (lazyMembers.ts); incrementally their member events as of
    // the point the state is taken at, changed or not, since the client may never have been sent them.
    const fullState = window.fullState || window.from === undefined;
    const needed = lazyMembersNeeded(events, userId, { fullState, stateAfter: options.stateAfter });
    const keep = (event: StoredEvent): boolean => event.type !== 'm.room.member' || needed.has(event.stateKey ?? '');
    state = state.filter(keep);
    if (!fullState && needed.size > 0) {
      const sent = new Set(state.map((event) => event.eventId));
      const members = (await stateAtPoint()).filter((event) => event.type === 'm.room.member' && keep(event) && !sent.has(event.eventId));
      state = [...state, ...members];
    }
    const already = options.sentMembers;
    if (already !== undefined) state = state.filter((event) => !already.wasSent(event));
  }
  state = state.filter((event) => eventMatches(stateFilter, { type: event.type, sender: event.sender, roomId }));
  if (stateFilter.lazyLoadMembers) options.sentMembers?.record([...state, ...events]);
  return { events, limited, prevBatch: roomToken(start), state };
};

/**
 * History visibility of a sync room (client-server-api § Room History Visibility): each event below
 * `window.to` is judged by the visibility and the user's membership at that event, from one
 * statement. `from` is the first visible offset (`to` when none); `ctx` reads the room's timeline
 * through a read model that returns only visible events, so the page, `limited` and `prev_batch`
 * count only those. An incremental window the user was joined through (their `changes` end with a
 * join before `window.from`) is visible whole: "if the user's membership was join, allow", no read.
 */
export const visibleFrom = async (
  ctx: SyncContext, roomId: string, userId: string, window: { readonly to: number; readonly from?: number },
  changes: readonly UserMembershipChange[],
): Promise<{ from: number; ctx: SyncContext; ranges?: readonly OffsetRange[] }> => {
  const latest = changes[changes.length - 1];
  if (window.from !== undefined && latest?.membership === 'join' && latest.offset < window.from) return { from: window.from, ctx };
  const ranges = await visibleRangesBelow(ctx.rooms, roomId, userId, window.to);
  return { from: ranges[0]?.from ?? window.to, ctx: { ...ctx, rooms: restrictedToVisible(ctx.rooms, ranges) }, ranges };
};
