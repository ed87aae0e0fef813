/**
 * GET /_matrix/client/v1/rooms/{roomId}/hierarchy (space_hierarchy.yaml, since v1.2): a depth-first
 * walk of the space tree over this server's rooms. As Synapse, a space is returned before its
 * children (in the spec's child order), each room once (which also breaks loops), and rooms the
 * user may not preview are left out together with their subtrees. Rooms this server has never seen
 * would need federation (GET /_matrix/federation/v1/hierarchy), which is not supported yet.
 *
 * The `from` token is stateless: it names the walk (root, suggested_only, max_depth) and how many
 * rooms earlier pages returned, and the next page walks again and skips those.
 */
import { decodeBase64Url, encodeBase64Url } from '../../base64.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import { forbidden, invalidParam } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { hierarchyChunk, mayPreview, spaceChildren, type SpaceRoom } from './spaceRoom.ts';

/** "Servers should apply a default value, and impose a maximum value" (limit and max_depth). */
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 100;
const MAX_DEPTH = 10;

export interface HierarchyRequest {
  readonly from?: string;
  readonly limit?: string;
  readonly maxDepth?: string;
  readonly suggestedOnly?: string;
}

interface Walk {
  readonly root: string;
  readonly suggestedOnly: boolean;
  readonly maxDepth: number;
}

interface Page extends Walk {
  readonly skip: number;
}

const encodeToken = (page: Page): string =>
  encodeBase64Url(new TextEncoder().encode(JSON.stringify({ r: page.root, s: page.suggestedOnly, d: page.maxDepth, k: page.skip })));

const decodeToken = (token: string): Page => {
  const bytes = decodeBase64Url(token);
  let value: unknown;
  try {
    value = bytes === undefined ? undefined : JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    value = undefined;
  }
  if (!isJsonObject(value) || typeof value.r !== 'string' || typeof value.s !== 'boolean'
    || !Number.isSafeInteger(value.d) || !Number.isSafeInteger(value.k) || (value.k as number) < 0) {
    throw invalidParam("Unknown 'from' token");
  }
  return { root: value.r, suggestedOnly: value.s, maxDepth: value.d as number, skip: value.k as number };
};

const integerParam = (text: string | undefined, name: string, min: number): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value) || value < min) {
    throw invalidParam(`'${name}' must be an integer of at least ${min}`);
  }
  return value;
};

const booleanParam = (text: string | undefined, name: string): boolean | undefined => {
  if (text === undefined) return undefined;
  if (text !== 'true' && text !== 'false') throw invalidParam(`'${name}' must be true or false`);
  return text === 'true';
};

/** The page asked for; a `from` token fixes suggested_only and max_depth (400 when they change). */
const pageOf = (roomId: string, request: HierarchyRequest): Page => {
  const suggestedOnly = booleanParam(request.suggestedOnly, 'suggested_only');
  const maxDepth = integerParam(request.maxDepth, 'max_depth', 0);
  const walk: Walk = { root: roomId, suggestedOnly: suggestedOnly ?? false, maxDepth: Math.min(maxDepth ?? MAX_DEPTH, MAX_DEPTH) };
  if (request.from === undefined) return { ...walk, skip: 0 };
  const page = decodeToken(request.from);
  if (page.root !== roomId) throw invalidParam("The 'from' token belongs to another room");
  if ((suggestedOnly !== undefined && suggestedOnly !== page.suggestedOnly) || (maxDepth !== undefined && walk.maxDepth !== page.maxDepth)) {
    throw invalidParam('suggested_only and max_depth cannot change on paginated requests');
  }
  return page;
};

const loadRoom = async (ctx: RoomsContext, roomId: string): Promise<SpaceRoom | undefined> => {
  const [info, state] = await Promise.all([ctx.rooms.roomInfo(roomId), ctx.rooms.currentState(roomId)]);
  return info === undefined ? undefined : { info, state };
};

export const getHierarchy = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, request: HierarchyRequest,
): Promise<JsonObject> => {
  const page = pageOf(roomId, request);
  const limit = Math.min(integerParam(request.limit, 'limit', 1) ?? DEFAULT_LIMIT, MAX_LIMIT);
  let joined: Promise<ReadonlySet<string>> | undefined;
  const joinedRooms = () => (joined ??= ctx.rooms.roomsWithMembership(requester.userId, ['join']).then((ids) => new Set(ids)));

  // 403 "The user cannot view or peek on the room", also when the room does not exist.
  const root = await loadRoom(ctx, roomId);
  if (root === undefined || !(await mayPreview(root, requester.userId, joinedRooms))) {
    throw forbidden(`You are not allowed to view room ${roomId}`);
  }

  // A stack: children are pushed in reverse, so the next one by the spec's order is popped first.
  const queue: { roomId: string; depth: number }[] = [{ roomId, depth: 0 }];
  const processed = new Set<string>();
  const rooms: JsonObject[] = [];
  let seen = 0;
  while (queue.length > 0 && rooms.length < limit) {
    const entry = queue.pop()!;
    if (processed.has(entry.roomId)) continue;
    processed.add(entry.roomId);
    const room = entry.roomId === roomId ? root : await loadRoom(ctx, entry.roomId);
    if (room === undefined || !(await mayPreview(room, requester.userId, joinedRooms))) continue;
    const children = spaceChildren(room, page.suggestedOnly);
    seen += 1;
    if (seen > page.skip) rooms.push(hierarchyChunk(room, children));
    if (entry.depth < page.maxDepth) {
      for (const child of children.toReversed()) queue.push({ roomId: child.stateKey!, depth: entry.depth + 1 });
    }
  }
  while (queue.length > 0 && processed.has(queue[queue.length - 1]!.roomId)) queue.pop();
  const response: JsonObject = { rooms };
  // "Not present when there are no further results."
  if (queue.length > 0) response.next_batch = encodeToken({ ...page, skip: seen });
  return response;
};
