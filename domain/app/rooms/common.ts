/** Helpers shared by the room use-cases: errors, the requester's origin, profiles, power. */
import { currentStateLookup, NO_LOOKUPS, type LocalOrigin, type RoomState } from '../../room/index.ts';
import { powerLevelOf, type StateLookup } from '../../auth/index.ts';
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { RoomVersionRules } from '../../roomVersions/index.ts';
import type { ProfileFields } from '../../ports/accounts.ts';
import type { RoomsContext, RoomRequester } from './context.ts';

export const forbidden = (message: string): MatrixError => new MatrixError('M_FORBIDDEN', 403, message);
export const notFound = (message: string): MatrixError => new MatrixError('M_NOT_FOUND', 404, message);
/**
 * The one answer for a room the user may not act in or read, whether or not the room exists, so
 * that nobody learns which room ids are in use (Synapse's wording for a non-member).
 */
export const notInRoom = (userId: string, roomId: string): MatrixError => forbidden(`User ${userId} not in room ${roomId}`);
export const invalidParam = (message: string): MatrixError => new MatrixError('M_INVALID_PARAM', 400, message);
/** A body field of the wrong JSON type: "well-formed JSON, but malformed" (§ Common error codes). */
export const badJson = (message: string): MatrixError => new MatrixError('M_BAD_JSON', 400, message);

export const originOf = (requester: RoomRequester, txnId: string | null = null): LocalOrigin => ({
  userId: requester.userId, deviceId: requester.deviceId, txnId,
});

/** The room's state as the writer holds it; 404 for a room this server does not know. */
export const writerState = async (ctx: RoomsContext, roomId: string): Promise<RoomState & { rules: RoomVersionRules }> => {
  const state = await ctx.writer.state(roomId);
  if (state === undefined || state.rules === null) throw notFound(`Unknown room ${roomId}`);
  return state as RoomState & { rules: RoomVersionRules };
};

export const lookupOf = (state: RoomState): StateLookup => currentStateLookup(state, NO_LOOKUPS);

export const powerOf = (state: RoomState & { rules: RoomVersionRules }, userId: string): number =>
  powerLevelOf(userId, lookupOf(state), state.rules);

export const membershipIn = (state: RoomState, userId: string): string | undefined => {
  const content = lookupOf(state)('m.room.member', userId)?.content;
  return isJsonObject(content) && typeof content.membership === 'string' ? content.membership : undefined;
};

/**
 * The profile of a local invitee; one nobody registered here may be a bridge's user, so the bridges
 * whose namespace holds it are asked first (application-service-api.md § User query: "such as a
 * room invite"), and one that says yes has registered them meanwhile.
 */
export const inviteeProfile = async (ctx: RoomsContext, userId: string): Promise<ProfileFields | undefined> => {
  const profile = await ctx.profiles.getProfile(userId);
  if (profile !== undefined || (await ctx.bridgeQueries?.queryUser(userId)) !== true) return profile;
  return ctx.profiles.getProfile(userId);
};

/**
 * `m.room.member` content for a local user: displayname and avatar_url come from their profile
 * (client-server-api § m.room.member: "displayname", "avatar_url"); an invitee's as inviteeProfile finds it.
 */
export const memberContent = async (
  ctx: RoomsContext, userId: string, membership: string, extra: JsonObject = {},
): Promise<JsonObject> => {
  const content: JsonObject = { membership };
  if (userId.endsWith(`:${ctx.serverName}`)) {
    const profile = membership === 'invite' ? await inviteeProfile(ctx, userId) : await ctx.profiles.getProfile(userId);
    if (typeof profile?.displayname === 'string') content.displayname = profile.displayname;
    if (typeof profile?.avatar_url === 'string') content.avatar_url = profile.avatar_url;
  }
  return { ...content, ...extra };
};

export const withReason = (reason: string | undefined): JsonObject => (reason === undefined ? {} : { reason });
