/**
 * Which part of a room's timeline a user may read (client-server-api § Room History Visibility).
 * Each event is judged by the visibility and the user's membership at that event
 * (historyVisibility.ts). Who may read at all is Synapse's rule: a joined user, one who was joined
 * (up to the change that ended their last join: "no events received after they left"), or anyone
 * while the room is world_readable (peeking).
 */
import type { EventFilter, MessagesQuery, OffsetRange, RoomReadModel, VisibilityHistory } from '../../ports/rooms.ts';
import { notInRoom } from './common.ts';
import type { RoomsContext } from './context.ts';
import { historyVisibilityOf, inRanges, visibleRanges, type HistoryVisibility } from './historyVisibility.ts';

/** Far past any offset: the open end of a joined user's visible ranges. */
const OPEN_END = Number.MAX_SAFE_INTEGER;

export interface VisibilityWindow {
  /** The first visible offset (a lower bound for queries; `visible` is exact). */
  readonly minOffset?: number;
  /** For a user who left: the offset of the change that ended their last join (inclusive). */
  readonly maxOffset?: number;
  /** True while the user is joined: they see the current state. */
  readonly joined: boolean;
  /** Exactly the offsets whose events the user may see, ascending. */
  readonly visible: readonly OffsetRange[];
}

/** The room's current history visibility (`shared` when unset or not understood). */
export const currentHistoryVisibility = (history: VisibilityHistory): HistoryVisibility =>
  historyVisibilityOf(history.historyVisibility[history.historyVisibility.length - 1]?.value);

/** The window from a loaded history; throws M_FORBIDDEN when the user may not read the room at all. */
export const windowOf = (history: VisibilityHistory, roomId: string, userId: string): VisibilityWindow => {
  const memberships = history.membership;
  const joined = memberships[memberships.length - 1]?.value === 'join';
  const lastJoin = memberships.findLastIndex((change) => change.value === 'join');
  if (lastJoin < 0 && currentHistoryVisibility(history) !== 'world_readable') throw notInRoom(userId, roomId);
  const maxOffset = joined || lastJoin < 0 ? undefined : memberships[lastJoin + 1]!.offset;
  const visible = visibleRanges(history, maxOffset === undefined ? OPEN_END : maxOffset + 1);
  const minOffset = visible[0]?.from;
  return {
    joined, visible,
    ...(minOffset === undefined ? {} : { minOffset }),
    ...(maxOffset === undefined ? {} : { maxOffset }),
  };
};

export const visibilityWindow = async (ctx: RoomsContext, roomId: string, userId: string): Promise<VisibilityWindow> =>
  windowOf(await ctx.rooms.visibilityHistory(roomId, userId), roomId, userId);

export const canSee = (window: VisibilityWindow, offset: number): boolean => inRanges(window.visible, offset);

/** /sync's view of a room: the offsets below `to` whose events the user may see (one statement). */
export const visibleRangesBelow = async (rooms: RoomReadModel, roomId: string, userId: string, to: number): Promise<OffsetRange[]> =>
  visibleRanges(await rooms.visibilityHistory(roomId, userId, to), to);

/**
 * The read model as one user sees a room's timeline: `messages` and `around` return only events
 * in `ranges`, so pages, `limited` and tokens count visible events only. Other reads pass through.
 */
export const restrictedToVisible = (rooms: RoomReadModel, ranges: readonly OffsetRange[]): RoomReadModel =>
  Object.assign(Object.create(rooms) as RoomReadModel, {
    messages: (roomId: string, query: MessagesQuery) => rooms.messages(roomId, { ...query, visible: ranges }),
    around: (roomId: string, offset: number, before: number, after: number, filter?: EventFilter) =>
      rooms.around(roomId, offset, before, after, filter, ranges),
  });
