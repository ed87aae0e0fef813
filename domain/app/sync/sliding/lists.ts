/**
 * The room lists of a sliding sync answer, purely: which of the user's rooms the server-side list
 * holds (MSC4186 § Lists), each list's filters over it, its count, and the rooms its ranges select.
 * The rooms arrive sorted by recency from the read model (domain/ports/slidingSync.ts).
 */
import { isJsonObject, type JsonObject } from '../../../json.ts';
import type { SlidingRoomSummary } from '../../../ports/slidingSync.ts';
import type { AccountDataEntry } from '../../../ports/userData.ts';
import type { SlidingListConfig, SlidingRoomFilters } from './types.ts';

/** A room of the user's list, with its membership as of the answer's positions. */
export interface ListedRoom {
  readonly summary: SlidingRoomSummary;
  readonly membership: string;
}

/** What the filters read of the user's account data: DM rooms (`m.direct`) and tags (`m.tag`). */
export interface RoomMarks {
  readonly direct: ReadonlySet<string>;
  readonly tags: ReadonlyMap<string, readonly string[]>;
}

export const NO_MARKS: RoomMarks = { direct: new Set(), tags: new Map() };

const directRoomsIn = (content: JsonObject): Set<string> => {
  const rooms = new Set<string>();
  for (const ids of Object.values(content)) {
    if (!Array.isArray(ids)) continue;
    for (const id of ids) if (typeof id === 'string') rooms.add(id);
  }
  return rooms;
};

/** `marks` with the account data changes applied (the newest content of each entry). */
export const applyMarks = (marks: RoomMarks, entries: readonly AccountDataEntry[]): RoomMarks => {
  let { direct } = marks;
  let tags: Map<string, readonly string[]> | undefined;
  for (const entry of entries) {
    if (entry.roomId === null && entry.type === 'm.direct') direct = directRoomsIn(entry.content);
    if (entry.roomId !== null && entry.type === 'm.tag') {
      tags ??= new Map(marks.tags);
      const names = isJsonObject(entry.content.tags) ? Object.keys(entry.content.tags) : [];
      if (names.length === 0) tags.delete(entry.roomId);
      else tags.set(entry.roomId, names);
    }
  }
  return direct === marks.direct && tags === undefined ? marks : { direct, tags: tags ?? marks.tags };
};

export interface ListInputs {
  /** The user's rooms, most recent first, with their memberships as of the answer. */
  readonly rooms: readonly ListedRoom[];
  readonly marks: RoomMarks;
  /** The children of the spaces the lists filter on (only spaces the user is joined to). */
  readonly spaceChildren: ReadonlyMap<string, ReadonlySet<string>>;
}

const typeIn = (types: readonly (string | null)[], type: string | null): boolean => types.includes(type);

export const matchesFilters = (room: ListedRoom, filters: SlidingRoomFilters, inputs: ListInputs): boolean => {
  const { roomId } = room.summary;
  if (filters.isDm !== undefined && inputs.marks.direct.has(roomId) !== filters.isDm) return false;
  if (filters.isInvite !== undefined && (room.membership === 'invite') !== filters.isInvite) return false;
  if (filters.isEncrypted !== undefined && room.summary.encrypted !== filters.isEncrypted) return false;
  if (filters.spaces !== undefined && !filters.spaces.some((space) => inputs.spaceChildren.get(space)?.has(roomId) === true)) return false;
  // `not_room_types` wins over `room_types` (MSC4186).
  if (filters.notRoomTypes !== undefined && typeIn(filters.notRoomTypes, room.summary.roomType)) return false;
  if (filters.roomTypes !== undefined && !typeIn(filters.roomTypes, room.summary.roomType)) return false;
  const tags = inputs.marks.tags.get(roomId) ?? [];
  // `not_tags` wins over `tags`.
  if (filters.notTags !== undefined && tags.some((tag) => filters.notTags!.includes(tag))) return false;
  if (filters.tags !== undefined && !tags.some((tag) => filters.tags!.includes(tag))) return false;
  return true;
};

export interface ListResult {
  readonly count: number;
  /** The rooms the ranges select, in list order (every room without ranges). */
  readonly roomIds: readonly string[];
  /** Each range with the rooms in it (the unstable form's `SYNC` operations, as Synapse sends them). */
  readonly ranges: readonly { readonly range: readonly [number, number]; readonly roomIds: readonly string[] }[];
}

/** Each index of the ranges once, within the list. */
export const selectRanges = (length: number, ranges: readonly (readonly [number, number])[] | undefined): number[] => {
  if (ranges === undefined) return Array.from({ length }, (_, i) => i);
  const picked = new Set<number>();
  for (const [start, end] of ranges) for (let i = start; i <= Math.min(end, length - 1); i++) picked.add(i);
  return [...picked].sort((a, b) => a - b);
};

export const computeList = (config: SlidingListConfig, inputs: ListInputs): ListResult => {
  const matching = inputs.rooms.filter((room) => matchesFilters(room, config.filters, inputs));
  const idOf = (i: number): string => matching[i]!.summary.roomId;
  return {
    count: matching.length,
    roomIds: selectRanges(matching.length, config.ranges).map(idOf),
    ranges: (config.ranges ?? []).map((range) => ({ range, roomIds: selectRanges(matching.length, [range]).map(idOf) })),
  };
};

/**
 * Whether a room is in the user's server-side list, as Synapse decides it: every membership but a
 * leave (bans included); a leave someone else sent (a kick, a withdrawn invite); and a leave of the
 * user's own (a rejected invite too) only when it is new to the connection — made since its
 * position, or the connection still has the room as another membership — so it is sent once.
 */
export const inServerList = (
  room: { readonly membership: string; readonly sender: string | null; readonly newlyLeft: boolean },
  userId: string, sentMembership: string | undefined,
): boolean => {
  if (room.membership !== 'leave') return true;
  if (room.newlyLeft || (sentMembership !== undefined && sentMembership !== 'leave')) return true;
  return room.sender !== null && room.sender !== userId;
};
