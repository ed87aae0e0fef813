/**
 * Reading rooms: /event, /state, /members, /joined_members, /joined_rooms, /messages and
 * /context (rooms.yaml, room_state.yaml, message_pagination.yaml, event_context.yaml).
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { EventFilter, StoredEvent } from '../../ports/rooms.ts';
import { clientEvent, type Viewer } from './clientEvent.ts';
import { forbidden, invalidParam, notFound } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { parseRoomToken, roomToken } from './tokens.ts';
import { canSee, visibilityWindow, type VisibilityWindow } from './visibility.ts';

const MAX_LIMIT = 1000;

const viewerOf = (requester: RoomRequester): Viewer => ({ userId: requester.userId, deviceId: requester.deviceId });

const requireRoom = async (ctx: RoomsContext, roomId: string) => {
  const info = await ctx.rooms.roomInfo(roomId);
  if (info === undefined) throw forbidden(`You are not in room ${roomId}`);
  return info;
};

/** The state the user may see: current while joined, else as of the end of their window. */
const visibleState = async (ctx: RoomsContext, roomId: string, window: VisibilityWindow): Promise<StoredEvent[]> =>
  window.joined || window.maxOffset === undefined ? ctx.rooms.currentState(roomId) : ctx.rooms.stateAt(roomId, window.maxOffset);

export const getEvent = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, eventId: string): Promise<JsonObject> => {
  await requireRoom(ctx, roomId);
  // rooms.yaml getOneRoomEvent: 404 also when "you do not have permission to see it" (Synapse too),
  // so a non-member cannot tell which event ids exist.
  const window = await visibilityWindow(ctx, roomId, requester.userId).catch((error: unknown) => {
    throw error instanceof MatrixError && error.errcode === 'M_FORBIDDEN' ? notFound('Event not found') : error;
  });
  const event = await ctx.rooms.event(eventId);
  if (event === undefined || event.roomId !== roomId || !canSee(window, event.offset)) throw notFound('Event not found');
  return clientEvent(event, viewerOf(requester), ctx.clock.now());
};

export const getState = async (ctx: RoomsContext, requester: RoomRequester, roomId: string): Promise<JsonObject[]> => {
  await requireRoom(ctx, roomId);
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  const now = ctx.clock.now();
  return (await visibleState(ctx, roomId, window)).map((event) => clientEvent(event, viewerOf(requester), now));
};

export const getStateEvent = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, type: string, stateKey: string, format: 'content' | 'event',
): Promise<JsonObject> => {
  await requireRoom(ctx, roomId);
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

export const getMembers = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, query: MembersQuery): Promise<JsonObject[]> => {
  await requireRoom(ctx, roomId);
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  let at = query.at === undefined ? undefined : parseRoomToken(query.at, 'at') - 1;
  if (!window.joined && window.maxOffset !== undefined) at = Math.min(at ?? window.maxOffset, window.maxOffset);
  const members = await ctx.rooms.members(roomId, at);
  const now = ctx.clock.now();
  return members
    .filter((event) => query.membership === undefined || membershipOfEvent(event) === query.membership)
    .filter((event) => query.notMembership === undefined || membershipOfEvent(event) !== query.notMembership)
    .map((event) => clientEvent(event, viewerOf(requester), now));
};

export const getJoinedMembers = async (ctx: RoomsContext, requester: RoomRequester, roomId: string): Promise<JsonObject> => {
  await requireRoom(ctx, roomId);
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  if (!window.joined) throw forbidden(`You are not in room ${roomId}`);
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

const stringArray = (value: unknown, key: string): string[] | undefined => {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw invalidParam(`filter '${key}' must be an array of strings`);
  return value as string[];
};

/** A RoomEventFilter from the `filter` query parameter (JSON). */
export const parseEventFilter = (text: string | undefined): { filter?: EventFilter; limit?: number } => {
  if (text === undefined || text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new MatrixError('M_INVALID_PARAM', 400, "'filter' must be a JSON RoomEventFilter (stored filter ids are not supported)");
  }
  if (!isJsonObject(value)) throw invalidParam("'filter' must be a JSON object");
  const filter: { -readonly [K in keyof EventFilter]: EventFilter[K] } = {};
  const types = stringArray(value.types, 'types');
  if (types !== undefined) filter.types = types;
  const notTypes = stringArray(value.not_types, 'not_types');
  if (notTypes !== undefined) filter.notTypes = notTypes;
  const senders = stringArray(value.senders, 'senders');
  if (senders !== undefined) filter.senders = senders;
  const notSenders = stringArray(value.not_senders, 'not_senders');
  if (notSenders !== undefined) filter.notSenders = notSenders;
  if (typeof value.contains_url === 'boolean') filter.containsUrl = value.contains_url;
  const limit = typeof value.limit === 'number' && Number.isInteger(value.limit) && value.limit > 0 ? value.limit : undefined;
  return limit === undefined ? { filter } : { filter, limit };
};

const limitOf = (text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback;
  const limit = Number(text);
  if (!Number.isInteger(limit) || limit < 0) throw invalidParam("'limit' must be a non-negative integer");
  return Math.min(limit, MAX_LIMIT);
};

export interface MessagesRequest {
  readonly from?: string;
  readonly to?: string;
  readonly dir: string;
  readonly limit?: string;
  readonly filter?: string;
}

export const getMessages = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, request: MessagesRequest): Promise<JsonObject> => {
  if (request.dir !== 'b' && request.dir !== 'f') throw invalidParam("'dir' must be 'b' or 'f'");
  const info = await requireRoom(ctx, roomId);
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  const parsedFilter = parseEventFilter(request.filter);
  const limit = Math.min(limitOf(request.limit, parsedFilter.limit ?? 10), MAX_LIMIT);
  const from = request.from === undefined ? (request.dir === 'b' ? info.lastOffset + 1 : 0) : parseRoomToken(request.from);
  const to = request.to === undefined ? undefined : parseRoomToken(request.to, 'to');
  const events = limit === 0 ? [] : await ctx.rooms.messages(roomId, {
    dir: request.dir, from, limit,
    ...(to === undefined ? {} : { to }),
    ...(parsedFilter.filter === undefined ? {} : { filter: parsedFilter.filter }),
    visible: window.visible,
  });
  const now = ctx.clock.now();
  const response: JsonObject = { start: roomToken(from), chunk: events.map((event) => clientEvent(event, viewerOf(requester), now)) };
  // "If no further events are available … this property is omitted from the response." The read
  // model skips events hidden by history visibility, so a full page means more may follow.
  if (events.length === limit && limit > 0) {
    const last = events[events.length - 1]!;
    response.end = roomToken(request.dir === 'b' ? last.offset : last.offset + 1);
  }
  return response;
};

export const getContext = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, eventId: string, limitText: string | undefined, filterText: string | undefined,
): Promise<JsonObject> => {
  await requireRoom(ctx, roomId);
  // rooms.yaml getOneRoomEvent: 404 also when "you do not have permission to see it" (Synapse too),
  // so a non-member cannot tell which event ids exist.
  const window = await visibilityWindow(ctx, roomId, requester.userId).catch((error: unknown) => {
    throw error instanceof MatrixError && error.errcode === 'M_FORBIDDEN' ? notFound('Event not found') : error;
  });
  const event = await ctx.rooms.event(eventId);
  if (event === undefined || event.roomId !== roomId || !canSee(window, event.offset)) throw notFound('Event not found');
  const parsedFilter = parseEventFilter(filterText);
  const limit = limitOf(limitText, 10);
  const beforeCount = Math.floor(limit / 2);
  const { before, after } = await ctx.rooms.around(roomId, event.offset, beforeCount, limit - beforeCount, parsedFilter.filter, window.visible);
  const now = ctx.clock.now();
  const viewer = viewerOf(requester);
  const last = after[after.length - 1] ?? event;
  const first = before[before.length - 1] ?? event;
  return {
    event: clientEvent(event, viewer, now),
    events_before: before.map((e) => clientEvent(e, viewer, now)),
    events_after: after.map((e) => clientEvent(e, viewer, now)),
    start: roomToken(first.offset),
    end: roomToken(last.offset + 1),
    state: (await ctx.rooms.stateAt(roomId, last.offset)).map((e) => clientEvent(e, viewer, now)),
  };
};
