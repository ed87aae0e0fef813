/**
 * /relations (relations.yaml), /threads (threads_list.yaml) and /timestamp_to_event
 * (room_event_by_timestamp.yaml). Every read goes through the requester's visibility window, as
 * /messages does, and pages carry bundled aggregations.
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import { bundleAggregations } from './aggregations.ts';
import { clientEvent, type Viewer } from './clientEvent.ts';
import { invalidParam, notFound } from './common.ts';
import type { RoomRequester } from './context.ts';
import type { RoomModulesContext } from './modulesContext.ts';
import { hiddenByIgnoring, ignoredBy, withoutIgnored } from './ignoring.ts';
import { parseRoomToken, parseTimelineToken, roomToken } from './tokens.ts';
import { canSee, visibilityWindow, type VisibilityWindow } from './visibility.ts';

/** Synapse's defaults: 5 per page unless asked; recursion follows 3 levels (the spec's minimum). */
const DEFAULT_LIMIT = 5;
const MAX_LIMIT = 100;
export const RECURSION_DEPTH = 3;

const viewerOf = (requester: RoomRequester): Viewer => ({ userId: requester.userId, deviceId: requester.deviceId });

const rangeOf = (window: VisibilityWindow) => ({ visible: window.visible });

export const parseLimit = (text: string | undefined, fallback = DEFAULT_LIMIT, max = MAX_LIMIT): number => {
  if (text === undefined) return fallback;
  const limit = Number(text);
  if (!/^\d{1,9}$/.test(text) || !Number.isInteger(limit)) throw invalidParam("'limit' must be a non-negative integer");
  return Math.min(limit, max);
};

const parseDir = (text: string | undefined, fallback?: 'b' | 'f'): 'b' | 'f' => {
  if (text === undefined && fallback !== undefined) return fallback;
  if (text === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'dir'");
  if (text !== 'b' && text !== 'f') throw invalidParam("'dir' must be 'b' or 'f'");
  return text;
};

export interface RelationsRequest {
  readonly relType?: string;
  readonly eventType?: string;
  readonly from?: string;
  readonly to?: string;
  readonly limit?: string;
  readonly dir?: string;
  readonly recurse?: string;
}

export const getRelations = async (
  ctx: RoomModulesContext, requester: RoomRequester, roomId: string, eventId: string, request: RelationsRequest,
): Promise<JsonObject> => {
  const dir = parseDir(request.dir, 'b');
  const limit = parseLimit(request.limit);
  if (request.recurse !== undefined && request.recurse !== 'true' && request.recurse !== 'false') {
    throw invalidParam("'recurse' must be true or false");
  }
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  const parent = await ctx.rooms.event(eventId);
  // "The parent event was not found or the user does not have permission to read this event."
  if (parent === undefined || parent.roomId !== roomId || !canSee(window, parent.offset)) throw notFound('Event not found');
  // Our own tokens, /messages tokens or a /sync next_batch (relations.yaml `from`).
  const from = request.from === undefined ? undefined : parseTimelineToken(request.from, parent.partition);
  const to = request.to === undefined ? undefined : parseTimelineToken(request.to, parent.partition, 'to');
  const depth = request.recurse === 'true' ? RECURSION_DEPTH : 1;
  const range = rangeOf(window);
  // One more than asked tells whether a next page exists.
  const events = limit === 0 ? [] : await ctx.relations.relations(roomId, eventId, {
    dir, limit: limit + 1, depth, ...range,
    ...(request.relType === undefined ? {} : { relType: request.relType }),
    ...(request.eventType === undefined ? {} : { eventType: request.eventType }),
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
  });
  const page = events.slice(0, limit);
  const now = ctx.clock.now();
  const viewer = viewerOf(requester);
  // Ignored users' events are left out of the chunk; the tokens still follow the page read.
  const ignored = await ignoredBy(ctx.preferences, requester.userId);
  const chunk = withoutIgnored(page, ignored).map((event) => clientEvent(event, viewer, now));
  await bundleAggregations(ctx, viewer, roomId, chunk, range);
  const response: JsonObject = { chunk };
  if (events.length > limit && page.length > 0) {
    const last = page[page.length - 1]!;
    response.next_batch = roomToken(dir === 'b' ? last.offset : last.offset + 1);
  }
  if (request.from !== undefined) response.prev_batch = request.from;
  if (request.recurse !== undefined) response.recursion_depth = depth;
  return response;
};

export interface ThreadsRequest {
  readonly include?: string;
  readonly from?: string;
  readonly limit?: string;
}

export const getThreads = async (ctx: RoomModulesContext, requester: RoomRequester, roomId: string, request: ThreadsRequest): Promise<JsonObject> => {
  const include = request.include ?? 'all';
  if (include !== 'all' && include !== 'participated') throw invalidParam("'include' must be all or participated");
  const limit = parseLimit(request.limit);
  const before = request.from === undefined ? undefined : parseRoomToken(request.from);
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  const range = rangeOf(window);
  const threads = limit === 0 ? [] : await ctx.relations.threads(roomId, {
    limit: limit + 1, ...range,
    ...(before === undefined ? {} : { before }),
    ...(include === 'participated' ? { participant: requester.userId } : {}),
  });
  const page = threads.slice(0, limit);
  const now = ctx.clock.now();
  const viewer = viewerOf(requester);
  const ignored = await ignoredBy(ctx.preferences, requester.userId);
  const chunk = page.filter((thread) => !hiddenByIgnoring(thread.root, ignored)).map((thread) => clientEvent(thread.root, viewer, now));
  await bundleAggregations(ctx, viewer, roomId, chunk, range);
  const response: JsonObject = { chunk };
  // Threads are ordered by their latest reply; the token is the offset of the last one shown.
  if (threads.length > limit && page.length > 0) response.next_batch = roomToken(page[page.length - 1]!.latestOffset);
  return response;
};

export const timestampToEvent = async (
  ctx: RoomModulesContext, requester: RoomRequester, roomId: string, tsText: string | undefined, dirText: string | undefined,
): Promise<JsonObject> => {
  if (tsText === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'ts'");
  if (!/^-?\d{1,16}$/.test(tsText)) throw invalidParam("'ts' must be an integer");
  const dir = parseDir(dirText);
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  const found = await ctx.relations.eventAtTime(roomId, Number(tsText), dir, rangeOf(window));
  if (found === undefined) throw notFound(`Unable to find event from ${tsText} in direction ${dir}`);
  return { event_id: found.eventId, origin_server_ts: found.originServerTs };
};
