/**
 * Reading rooms: /event, /state, /members, /joined_members, /joined_rooms, /messages and
 * /context (rooms.yaml, room_state.yaml, message_pagination.yaml, event_context.yaml).
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import { clientEvent, type Viewer } from './clientEvent.ts';
import { invalidParam, notFound, notInRoom } from './common.ts';
import { hiddenByIgnoring, ignoredBy, withoutIgnored } from './ignoring.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { admitsRoom, lazyMembers, matchesEventFilter, parseEventFilter } from './roomEventFilter.ts';
import { parseTimelineToken, roomToken } from './tokens.ts';
import { canSee, visibilityWindow, type VisibilityWindow } from './visibility.ts';

export { parseEventFilter, type ParsedEventFilter } from './roomEventFilter.ts';

const MAX_LIMIT = 1000;

const viewerOf = (requester: RoomRequester): Viewer => ({ userId: requester.userId, deviceId: requester.deviceId });

/** An unknown room answers as a room the user is not in (visibility.ts), so reads do not reveal which rooms exist. */
const requireRoom = async (ctx: RoomsContext, requester: RoomRequester, roomId: string) => {
  const info = await ctx.rooms.roomInfo(roomId);
  if (info === undefined) throw notInRoom(requester.userId, roomId);
  return info;
};

/** /event and /context answer 404 for an event one may not see; an unknown room is one such. */
const requireRoomForEvent = async (ctx: RoomsContext, roomId: string): Promise<void> => {
  if ((await ctx.rooms.roomInfo(roomId)) === undefined) throw notFound('Event not found');
};

/** The state the user may see: current while joined, else as of the end of their window. */
const visibleState = async (ctx: RoomsContext, roomId: string, window: VisibilityWindow): Promise<StoredEvent[]> =>
  window.joined || window.maxOffset === undefined ? ctx.rooms.currentState(roomId) : ctx.rooms.stateAt(roomId, window.maxOffset);

export const getEvent = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, eventId: string): Promise<JsonObject> => {
  await requireRoomForEvent(ctx, roomId);
  // rooms.yaml getOneRoomEvent: 404 also when "you do not have permission to see it" (Synapse too),
  // so a non-member cannot tell which event ids exist.
  const window = await visibilityWindow(ctx, roomId, requester.userId).catch((error: unknown) => {
    throw error instanceof MatrixError && error.errcode === 'M_FORBIDDEN' ? notFound('Event not found') : error;
  });
  const event = await ctx.rooms.event(eventId);
  if (event === undefined || event.roomId !== roomId || !canSee(window, event.offset)) throw notFound('Event not found');
  if (hiddenByIgnoring(event, await ignoredBy(ctx.preferences, requester.userId))) throw notFound('Event not found');
  return clientEvent(event, viewerOf(requester), ctx.clock.now());
};

export const getState = async (ctx: RoomsContext, requester: RoomRequester, roomId: string): Promise<JsonObject[]> => {
  await requireRoom(ctx, requester, roomId);
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  const now = ctx.clock.now();
  return (await visibleState(ctx, roomId, window)).map((event) => clientEvent(event, viewerOf(requester), now));
};

export const getStateEvent = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, type: string, stateKey: string, format: 'content' | 'event',
): Promise<JsonObject> => {
  await requireRoom(ctx, requester, roomId);
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  const event = window.joined || window.maxOffset === undefined
    ? await ctx.rooms.stateEvent(roomId, type, stateKey)
    : (await ctx.rooms.stateAt(roomId, window.maxOffset)).find((e) => e.type === type && e.stateKey === stateKey);
  if (event === undefined) throw notFound(`Room has no ${type} state with key ${JSON.stringify(stateKey)}`);
  if (format === 'event') return clientEvent(event, viewerOf(requester), ctx.clock.now());
  return isJsonObject(event.pdu.content) ? event.pdu.content : {};
};

const membershipOfEvent = (event: StoredEvent): string => {
  const content = event.pdu.content;
  return isJsonObject(content) && typeof content.membership === 'string' ? content.membership : 'leave';
};

export interface MembersQuery {
  readonly at?: string;
  readonly membership?: string;
  readonly notMembership?: string;
}

const MEMBERSHIPS: readonly string[] = ['join', 'invite', 'knock', 'leave', 'ban'];

/**
 * rooms.yaml getMembersByRoom: "When specified alongside `not_membership`, the two parameters
 * create an 'or' condition: either the membership *is* the same as `membership` **or** *is not*
 * the same as `not_membership`."
 */
const membershipMatcher = (query: MembersQuery): ((membership: string) => boolean) => {
  for (const [name, value] of [['membership', query.membership], ['not_membership', query.notMembership]] as const) {
    if (value !== undefined && !MEMBERSHIPS.includes(value)) throw invalidParam(`'${name}' must be one of ${MEMBERSHIPS.join(', ')}`);
  }
  const { membership, notMembership } = query;
  if (membership !== undefined && notMembership !== undefined) return (m) => m === membership || m !== notMembership;
  if (membership !== undefined) return (m) => m === membership;
  if (notMembership !== undefined) return (m) => m !== notMembership;
  return () => true;
};

export const getMembers = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, query: MembersQuery): Promise<JsonObject[]> => {
  const matches = membershipMatcher(query);
  const info = await requireRoom(ctx, requester, roomId);
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  let at = query.at === undefined ? undefined : parseTimelineToken(query.at, info.partition, 'at') - 1;
  if (!window.joined && window.maxOffset !== undefined) at = Math.min(at ?? window.maxOffset, window.maxOffset);
  const members = await ctx.rooms.members(roomId, at);
  const now = ctx.clock.now();
  return members
    .filter((event) => matches(membershipOfEvent(event)))
    .map((event) => clientEvent(event, viewerOf(requester), now));
};

export const getJoinedMembers = async (ctx: RoomsContext, requester: RoomRequester, roomId: string): Promise<JsonObject> => {
  await requireRoom(ctx, requester, roomId);
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  if (!window.joined) throw notInRoom(requester.userId, roomId);
  const joined: JsonObject = {};
  for (const event of await ctx.rooms.members(roomId)) {
    if (membershipOfEvent(event) !== 'join' || event.stateKey === null) continue;
    const content = isJsonObject(event.pdu.content) ? event.pdu.content : {};
    const member: JsonObject = {};
    if (typeof content.displayname === 'string') member.display_name = content.displayname;
    if (typeof content.avatar_url === 'string') member.avatar_url = content.avatar_url;
    joined[event.stateKey] = member;
  }
  return joined;
};

export const getJoinedRooms = (ctx: RoomsContext, requester: RoomRequester): Promise<string[]> =>
  ctx.rooms.roomsWithMembership(requester.userId, ['join']);

export const limitOf = (text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 0) throw invalidParam("'limit' must be a non-negative integer");
  return Math.min(limit, MAX_LIMIT);
};

export interface MessagesRequest {
  readonly from?: string;
  readonly to?: string;
  /** Required by message_pagination.yaml; checked after access so a non-member learns nothing. */
  readonly dir?: string;
  readonly limit?: string;
  readonly filter?: string;
}

export const getMessages = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, request: MessagesRequest): Promise<JsonObject> => {
  const info = await requireRoom(ctx, requester, roomId);
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  const dir = request.dir;
  if (dir === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'dir' (b or f)");
  if (dir !== 'b' && dir !== 'f') throw invalidParam("'dir' must be 'b' or 'f'");
  const parsedFilter = parseEventFilter(request.filter);
  const limit = Math.min(limitOf(request.limit, parsedFilter.limit ?? 10), MAX_LIMIT);
  // Since v1.3 `from` is optional: "from the first or last (per the value of dir) visible event".
  const from = request.from === undefined ? (dir === 'b' ? info.lastOffset + 1 : 0) : parseTimelineToken(request.from, info.partition);
  const to = request.to === undefined ? undefined : parseTimelineToken(request.to, info.partition, 'to');
  const page = () => ctx.rooms.messages(roomId, {
    dir, from, limit,
    ...(to === undefined ? {} : { to }),
    ...(parsedFilter.filter === undefined ? {} : { filter: parsedFilter.filter }),
    visible: window.visible,
  });
  let events = limit === 0 || !admitsRoom(parsedFilter, roomId) ? [] : await page();
  // Paging back past the earliest event held: other servers may have the history before it.
  if (dir === 'b' && limit > 0 && events.length < limit && to === undefined && ctx.backfill !== undefined && (await ctx.backfill(roomId, limit))) {
    events = await page();
  }
  const now = ctx.clock.now();
  const shown = withoutIgnored(events, await ignoredBy(ctx.preferences, requester.userId));
  // `start`: "This will be the same as the value given in `from`" (a /sync token stays one).
  const response: JsonObject = { start: request.from ?? roomToken(from), chunk: shown.map((event) => clientEvent(event, viewerOf(requester), now)) };
  // message_pagination.yaml `state`: with lazy_load_members, the chunk's senders' member events, as
  // of the chunk's first event; omitted without it or for an empty chunk (Synapse). Every sender's
  // is sent: `include_redundant_members` only lets a server leave out ones the client already has
  // (§ Lazy-loading room members), and Synapse never does here.
  const first = shown[0];
  if (parsedFilter.lazyLoadMembers === true && first !== undefined) {
    const state = lazyMembers(await ctx.rooms.members(roomId, first.offset), parsedFilter, shown);
    response.state = state.map((event) => clientEvent(event, viewerOf(requester), now));
  }
  // "If no further events are available … this property is omitted from the response." The read
  // model skips events hidden by history visibility, so a full page means more may follow.
  if (events.length === limit && limit > 0) {
    const last = events[events.length - 1]!;
    response.end = roomToken(dir === 'b' ? last.offset : last.offset + 1);
  }
  return response;
};

export const getContext = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, eventId: string, limitText: string | undefined, filterText: string | undefined,
): Promise<JsonObject> => {
  await requireRoomForEvent(ctx, roomId);
  // rooms.yaml getOneRoomEvent: 404 also when "you do not have permission to see it" (Synapse too),
  // so a non-member cannot tell which event ids exist.
  const window = await visibilityWindow(ctx, roomId, requester.userId).catch((error: unknown) => {
    throw error instanceof MatrixError && error.errcode === 'M_FORBIDDEN' ? notFound('Event not found') : error;
  });
  const event = await ctx.rooms.event(eventId);
  if (event === undefined || event.roomId !== roomId || !canSee(window, event.offset)) throw notFound('Event not found');
  const ignored = await ignoredBy(ctx.preferences, requester.userId);
  if (hiddenByIgnoring(event, ignored)) throw notFound('Event not found');
  const parsedFilter = parseEventFilter(filterText);
  const limit = limitOf(limitText, 10);
  const beforeCount = Math.floor(limit / 2);
  const { before, after } = admitsRoom(parsedFilter, roomId)
    ? await ctx.rooms.around(roomId, event.offset, beforeCount, limit - beforeCount, parsedFilter.filter, window.visible)
    : { before: [], after: [] };
  const now = ctx.clock.now();
  const viewer = viewerOf(requester);
  const last = after[after.length - 1] ?? event;
  const first = before[before.length - 1] ?? event;
  return {
    event: clientEvent(event, viewer, now),
    events_before: withoutIgnored(before, ignored).map((e) => clientEvent(e, viewer, now)),
    events_after: withoutIgnored(after, ignored).map((e) => clientEvent(e, viewer, now)),
    start: roomToken(first.offset),
    end: roomToken(last.offset + 1),
    // event_context.yaml `state`: "The state of the room at the last event returned"; the filter
    // "is only applied to events_before, events_after, and state", and with lazy_load_members the
    // m.room.member events are only the returned events' senders' (§ Lazy-loading room members).
    state: lazyMembers(
      (await ctx.rooms.stateAt(roomId, last.offset)).filter((e) => admitsRoom(parsedFilter, roomId) && matchesEventFilter(e, parsedFilter.filter)),
      parsedFilter, [...withoutIgnored(before, ignored), event, ...withoutIgnored(after, ignored)])
      .map((e) => clientEvent(e, viewer, now)),
  };
};
