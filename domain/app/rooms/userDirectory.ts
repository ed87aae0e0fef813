/**
 * POST /user_directory/search (users.yaml) and GET /mutual_rooms (mutual_rooms.yaml). Search
 * words are the term split at anything that is not a letter or digit, each matched as the start
 * of a word of the user id or display name, case-insensitively (Synapse's prefix search).
 */
import { MatrixError } from '../../errors.ts';
import { isUserId, userServerName, type UserId } from '../../ids/index.ts';
import type { JsonObject } from '../../json.ts';
import { invalidParam } from './common.ts';
import type { RoomRequester } from './context.ts';
import type { RoomModulesContext } from './modulesContext.ts';

const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 50;
/** Mutual rooms per page; `from` tokens are `m<index>` into the ordered list. */
const MUTUAL_ROOMS_PAGE = 100;

export const searchWords = (term: string): string[] => term.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((word) => word !== '');

export const searchUserDirectory = async (ctx: RoomModulesContext, requester: RoomRequester, body: JsonObject): Promise<JsonObject> => {
  const term = body.search_term;
  if (term === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'search_term'");
  if (typeof term !== 'string') throw invalidParam("'search_term' must be a string");
  const limitValue = body.limit ?? DEFAULT_LIMIT;
  if (typeof limitValue !== 'number' || !Number.isInteger(limitValue) || limitValue < 0) throw invalidParam("'limit' must be a non-negative integer");
  const limit = Math.min(limitValue, MAX_LIMIT);
  const found = await ctx.userDirectory.search(requester.userId, searchWords(term), limit + 1);
  const results = await Promise.all(found.slice(0, limit).map(async (user) => {
    let displayName = user.displayName;
    let avatarUrl = user.avatarUrl;
    // A local user's own profile is the source of truth (membership events may lag behind it).
    if (isUserId(user.userId) && userServerName(user.userId as UserId) === ctx.serverName) {
      const profile = await ctx.profiles.getProfile(user.userId);
      if (profile !== undefined) {
        displayName = typeof profile.displayname === 'string' ? profile.displayname : null;
        avatarUrl = typeof profile.avatar_url === 'string' ? profile.avatar_url : null;
      }
    }
    const result: JsonObject = { user_id: user.userId };
    if (displayName !== null) result.display_name = displayName;
    if (avatarUrl !== null) result.avatar_url = avatarUrl;
    return result;
  }));
  return { results, limited: found.length > limit };
};

export const mutualRooms = async (
  ctx: RoomModulesContext, requester: RoomRequester, userId: string | undefined, from: string | undefined,
): Promise<JsonObject> => {
  // "the user_id parameter was missing, non-compliant, or was the sender's own user ID" → 400 M_INVALID_PARAM.
  if (userId === undefined) throw invalidParam("Missing 'user_id'");
  if (!isUserId(userId)) throw invalidParam(`Invalid user id ${userId}`);
  if (userId === requester.userId) throw invalidParam('You cannot ask for the rooms you share with yourself');
  let start = 0;
  if (from !== undefined) {
    const match = /^m(\d{1,9})$/.exec(from);
    if (match === null) throw invalidParam("Invalid 'from' token");
    start = Number(match[1]);
  }
  const rooms = await ctx.userDirectory.mutualRooms(requester.userId, userId);
  const response: JsonObject = { joined: rooms.slice(start, start + MUTUAL_ROOMS_PAGE), count: rooms.length };
  if (start + MUTUAL_ROOMS_PAGE < rooms.length) response.next_batch = `m${start + MUTUAL_ROOMS_PAGE}`;
  return response;
};
