/**
 * A room's `timeline` and `state` in a sync response (client-server-api § Syncing, sync.yaml):
 * the newest events of a window of the room's partition, `limited` when older ones were left out,
 * `prev_batch` for /messages, and the state at the start of the timeline — in full for a room the
 * client does not know yet, else only what changed between `since` and the timeline's start.
 */
import { isJsonObject } from '../../json.ts';
import type { EventFilter as PortEventFilter, StoredEvent, UserMembershipChange } from '../../ports/rooms.ts';
import { roomToken } from '../rooms/index.ts';
import { eventMatches, type Filter, type RoomEventFilter } from '../userData/index.ts';
import type { SyncContext } from './context.ts';

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

const narrows = (filter: RoomEventFilter): boolean =>
  filter.types !== undefined || filter.senders !== undefined || filter.notTypes.length > 0 || filter.notSenders.length > 0
  || filter.containsUrl !== undefined;

export const timelineLimit = (filter: Filter): number => Math.min(filter.room.timeline.limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT);

/**
 * Whether the room has any event in [from, to). Without one the state at `to` is the state at
 * `from`, so the state delta is empty without loading the room's state twice.
 */
const anyEventBetween = async (ctx: SyncContext, roomId: string, from: number, to: number): Promise<boolean> =>
  to > from && (await ctx.rooms.messages(roomId, { dir: 'b', from: to, to: from, limit: 1 })).length > 0;

export const roomTimeline = async (ctx: SyncContext, window: RoomWindow, filter: Filter, userId: string): Promise<RoomTimeline> => {
  const { roomId, to } = window;
  const limit = timelineLimit(filter);
  const lower = Math.max(window.from ?? 0, window.visibleFrom ?? 0);
  const found = to <= lower ? [] : await ctx.rooms.messages(roomId, {
    dir: 'b', from: to, to: lower, limit: limit + 1, filter: portFilter(filter.room.timeline),
  });
  const limited = found.length > limit;
  const events = found.slice(0, limit).reverse();
  const start = events[0]?.offset ?? to;

  let state: StoredEvent[];
  let startState: StoredEvent[] | undefined;
  const stateAtStart = async (): Promise<StoredEvent[]> => (startState ??= await ctx.rooms.stateAt(roomId, start - 1));
  if (window.fullState || window.from === undefined) {
    state = await stateAtStart();
  } else if (limited || (narrows(filter.room.timeline) && (await anyEventBetween(ctx, roomId, window.from, start)))) {
    // State changes between `since` and the timeline's start the timeline does not show.
    const known = new Set((await ctx.rooms.stateAt(roomId, window.from - 1)).map((event) => event.eventId));
    state = (await stateAtStart()).filter((event) => !known.has(event.eventId));
  } else {
    state = [];
  }

  const stateFilter = filter.room.state;
  if (stateFilter.lazyLoadMembers) {
    // Only the members who sent the timeline's events, and the user (client-server-api § Lazy-loading
    // room members). `include_redundant_members` is honoured trivially: members are always sent.
    const senders = new Set([userId, ...events.map((event) => event.sender)]);
    const keep = (event: StoredEvent): boolean => event.type !== 'm.room.member' || senders.has(event.stateKey ?? '');
    state = state.filter(keep);
    if (!window.fullState && window.from !== undefined && events.length > 0) {
      const sent = new Set(state.map((event) => event.eventId));
      const members = (await stateAtStart()).filter((event) => event.type === 'm.room.member' && keep(event) && !sent.has(event.eventId));
      state = [...state, ...members];
    }
  }
  state = state.filter((event) => eventMatches(stateFilter, { type: event.type, sender: event.sender, roomId }));
  return { events, limited, prevBatch: roomToken(start), state };
};

const historyVisibility = async (ctx: SyncContext, roomId: string): Promise<string> => {
  const content = (await ctx.rooms.stateEvent(roomId, 'm.room.history_visibility', ''))?.pdu.content;
  return isJsonObject(content) && typeof content.history_visibility === 'string' ? content.history_visibility : 'shared';
};

/**
 * The first offset of the room the user may see (client-server-api § History visibility), from
 * their membership changes: `joined` from their last join, `invited` from the invite before it.
 * The room's current visibility is applied to the whole timeline, as /messages does.
 */
export const visibleFrom = async (ctx: SyncContext, roomId: string, changes: readonly UserMembershipChange[]): Promise<number | undefined> => {
  const lastJoin = changes.findLastIndex((change) => change.membership === 'join');
  if (lastJoin < 0) return changes[changes.length - 1]?.offset;
  const visibility = await historyVisibility(ctx, roomId);
  if (visibility === 'joined') return changes[lastJoin]!.offset;
  if (visibility === 'invited') {
    return (changes.slice(0, lastJoin).findLast((change) => change.membership === 'invite') ?? changes[lastJoin]!).offset;
  }
  return undefined;
};
