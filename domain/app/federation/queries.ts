/**
 * `GET /_matrix/federation/v1/query/profile` and `/query/directory` (server-server-api.md
 * § Querying for information, query.yaml): a remote server asks about one of our users or
 * aliases. Asking us about another server's user or alias is a mistake of the asking server
 * ("Homeservers MUST only query profiles for users that belong to the target server"): 400, as
 * Synapse answers it (it never forwards such a query on).
 */
import { MatrixError } from '../../errors.ts';
import { isRoomAlias, isUserId, roomAliasServerName, userServerName, utf8Length, type RoomAlias, type UserId } from '../../ids/index.ts';
import type { JsonObject } from '../../json.ts';
import { LIMITS } from '../../limits.ts';
import type { FederationQueriesContext } from './context.ts';
import { resolveAliasAskingBridges } from '../appservices/index.ts';

const invalidParam = (message: string): MatrixError => new MatrixError('M_INVALID_PARAM', 400, message);
const notFound = (message: string): MatrixError => new MatrixError('M_NOT_FOUND', 404, message);

/** A user id of ours, or the 400 a query about anyone else gets. */
export const localUserId = (ctx: FederationQueriesContext, userId: string): UserId => {
  if (!isUserId(userId)) throw invalidParam(`Invalid user id ${JSON.stringify(userId.slice(0, 64))}`);
  if (userServerName(userId) !== ctx.serverName) throw invalidParam('User is not hosted on this homeserver');
  return userId;
};

/**
 * The profile, or only `field` of it when one is named (query.yaml: "If a `field` is specified in
 * the request, the response MUST only include the specified `field`"). A field the user has not set
 * is a 404 ("The user does not exist, does not have a profile or the queried field does not
 * exist"), as the client API's `GET /profile/{userId}/{keyName}` answers it. Every field a user sets
 * is public already (the client API serves profiles to anyone), so none is held back here.
 */
export const queryProfile = async (ctx: FederationQueriesContext, userId: string, field: string | undefined): Promise<JsonObject> => {
  const local = localUserId(ctx, userId);
  // Profile keys are identifiers, bounded like every JSON member name a client may set.
  if (field !== undefined && (field === '' || utf8Length(field) > LIMITS.jsonKeyBytes)) throw invalidParam("Invalid 'field'");
  const profile = await ctx.profiles.getProfile(local);
  if (profile === undefined) throw notFound('Profile was not found');
  if (field === undefined) return { ...profile };
  if (!Object.hasOwn(profile, field)) throw notFound(`Profile has no field ${field}`);
  return { [field]: profile[field] ?? null };
};

/**
 * The room an alias of ours names and the servers likely to hold it (query.yaml): the servers of
 * its joined members, ours first, since we answered for the alias and hold the room.
 */
export const queryDirectory = async (ctx: FederationQueriesContext, alias: string): Promise<JsonObject> => {
  if (!isRoomAlias(alias)) throw invalidParam(`Invalid room alias ${JSON.stringify(alias.slice(0, 64))}`);
  if (roomAliasServerName(alias as RoomAlias) !== ctx.serverName) throw invalidParam('Room alias is not hosted on this homeserver');
  const found = await resolveAliasAskingBridges(ctx.directory, ctx.bridgeQueries, alias);
  if (found === undefined) throw notFound('Room alias not found');
  const servers = new Set<string>([ctx.serverName]);
  for (const member of await ctx.rooms.members(found.roomId)) {
    const content = member.pdu.content;
    const joined = typeof content === 'object' && content !== null && !Array.isArray(content) && content.membership === 'join';
    if (joined && member.stateKey !== null && isUserId(member.stateKey)) servers.add(userServerName(member.stateKey));
  }
  return { room_id: found.roomId, servers: [...servers] };
};

/** `GET /_matrix/federation/v1/openid/userinfo` (openid.yaml): the user an OpenID token was issued to. */
export const openIdUserInfo = (ctx: FederationQueriesContext, token: string): Promise<{ sub: string }> => ctx.openIdUserInfo(token);
