/**
 * Aliases and the room directory (directory.yaml, list_public_rooms.yaml). Deleting an alias is
 * allowed to its creator and to users who may change m.room.canonical_alias in the room (Synapse
 * uses the same rule; the spec leaves it to the server); application services manage the aliases of
 * their namespace, and theirs alone where exclusive (aliasExclusivity.ts).
 */
import { parseThirdPartyInstanceId } from '../../appservices/index.ts';
import { resolveAliasAskingBridges } from '../appservices/index.ts';
import { requiredPowerForEvent } from '../../auth/index.ts';
import { isMatrixError, MatrixError } from '../../errors.ts';
import { isRoomAlias, parseServerName, roomAliasServerName, type RoomAlias } from '../../ids/index.ts';
import type { JsonObject } from '../../json.ts';
import type { PublicRoomsNetwork } from '../../ports/rooms.ts';
import { forbidden, invalidParam, lookupOf, membershipIn, notFound, notInRoom, originOf, powerOf, writerState } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { ensureMayManageAlias } from './aliasExclusivity.ts';

const localAlias = (ctx: RoomsContext, alias: string): string => {
  if (!isRoomAlias(alias)) throw invalidParam(`Invalid room alias ${alias}`);
  if (roomAliasServerName(alias as RoomAlias) !== ctx.serverName) throw invalidParam('Room alias must be on this server');
  return alias;
};

export const putAlias = async (ctx: RoomsContext, requester: RoomRequester, alias: string, roomId: string): Promise<void> => {
  localAlias(ctx, alias);
  // A bridge manages the aliases of its namespace without being in their rooms (as Synapse).
  if (requester.appservice !== undefined) ensureMayManageAlias(ctx, requester, alias);
  const state = await writerState(ctx, roomId);
  if (requester.appservice === undefined) {
    if (membershipIn(state, requester.userId) !== 'join') throw forbidden('You must be joined to the room to give it an alias');
    ensureMayManageAlias(ctx, requester, alias);
  }
  if (!(await ctx.directory.createAlias(alias, roomId, requester.userId))) throw new MatrixError('M_UNKNOWN', 409, `Room alias ${alias} already exists`);
};

export const getAlias = async (ctx: RoomsContext, alias: string): Promise<JsonObject> => {
  if (!isRoomAlias(alias)) throw invalidParam(`Invalid room alias ${alias}`);
  const aliasServer = roomAliasServerName(alias);
  if (aliasServer !== ctx.serverName && ctx.remoteServers !== undefined) {
    // Another server's alias: that server is asked (server-server-api § Querying for information,
    // `GET /query/directory`); its 404 M_NOT_FOUND reaches the client as is, as with Synapse.
    const found = await ctx.remoteServers.queryDirectory(aliasServer, alias);
    return { room_id: found.roomId, servers: [...found.servers] };
  }
  const found = await resolveAliasAskingBridges(ctx.directory, ctx.bridgeQueries, alias);
  if (found === undefined) throw notFound(`Room alias ${alias} not found`);
  return { room_id: found.roomId, servers: [ctx.serverName] };
};

export const deleteAlias = async (ctx: RoomsContext, requester: RoomRequester, alias: string): Promise<void> => {
  localAlias(ctx, alias);
  if (requester.appservice !== undefined) ensureMayManageAlias(ctx, requester, alias);
  const found = await ctx.directory.resolveAlias(alias);
  if (found === undefined) throw notFound(`Room alias ${alias} not found`);
  if (requester.appservice === undefined && found.creator !== requester.userId) {
    const state = await writerState(ctx, found.roomId);
    const needed = requiredPowerForEvent('m.room.canonical_alias', true, lookupOf(state), state.rules);
    if (powerOf(state, requester.userId) < needed) throw forbidden('You may not delete this alias');
  }
  if (requester.appservice === undefined) ensureMayManageAlias(ctx, requester, alias);
  await ctx.directory.deleteAlias(alias);
  await dropFromCanonicalAlias(ctx, requester, found.roomId, alias);
};

/**
 * A deleted alias leaves the room's m.room.canonical_alias (`alias` and `alt_aliases`), sent as the
 * deleting user as Synapse's `_update_canonical_alias` does. The alias is gone either way: if the
 * decider refuses the event (the deleter may not change the canonical alias), the room keeps
 * naming it, as in Synapse.
 */
const dropFromCanonicalAlias = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, alias: string): Promise<void> => {
  const state = await ctx.writer.state(roomId);
  const current = state === undefined ? undefined : lookupOf(state)('m.room.canonical_alias', '')?.content;
  if (current === undefined) return;
  const { alias: main, alt_aliases: alt, ...rest } = current;
  const named = main === alias || (Array.isArray(alt) && alt.includes(alias));
  if (!named) return;
  const altKept = Array.isArray(alt) ? alt.filter((entry) => entry !== alias) : alt;
  const content: JsonObject = {
    ...rest,
    ...(main === undefined || main === alias ? {} : { alias: main }),
    ...(altKept === undefined || (Array.isArray(altKept) && altKept.length === 0) ? {} : { alt_aliases: altKept }),
  };
  await ctx.writer.send(roomId, { type: 'm.room.canonical_alias', stateKey: '', sender: requester.userId, content }, originOf(requester))
    .catch((error: unknown) => {
      if (!(isMatrixError(error) && error.status === 403)) throw error;
    });
};

export const roomAliases = async (ctx: RoomsContext, requester: RoomRequester, roomId: string): Promise<string[]> => {
  const state = await ctx.writer.state(roomId);
  // An unknown room answers as a room the user is not in: nobody learns which room ids exist.
  if (state === undefined || state.rules === null) throw notInRoom(requester.userId, roomId);
  const visibility = lookupOf(state)('m.room.history_visibility', '')?.content.history_visibility;
  if (visibility !== 'world_readable' && membershipIn(state, requester.userId) !== 'join') throw notInRoom(requester.userId, roomId);
  return ctx.directory.aliasesOf(roomId);
};

export const getDirectoryVisibility = async (ctx: RoomsContext, roomId: string): Promise<JsonObject> => {
  if ((await ctx.rooms.roomInfo(roomId)) === undefined) throw notFound(`Unknown room ${roomId}`);
  return { visibility: await ctx.directory.visibility(roomId) };
};

export const setDirectoryVisibility = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, visibility: unknown): Promise<void> => {
  if (visibility !== 'public' && visibility !== 'private') throw invalidParam("'visibility' must be public or private");
  const state = await writerState(ctx, roomId);
  const needed = requiredPowerForEvent('m.room.canonical_alias', true, lookupOf(state), state.rules);
  if (powerOf(state, requester.userId) < needed) throw forbidden('You may not change the directory visibility of this room');
  await ctx.directory.setVisibility(roomId, visibility);
};

/** Synapse's MAX_PUBLIC_ROOMS_IN_RESPONSE: the default page and the cap (the spec sets neither). */
const MAX_PUBLIC_ROOMS = 100;

export interface PublicRoomsRequest {
  readonly limit?: number;
  readonly since?: string;
  readonly server?: string;
  readonly searchTerm?: string;
  /** Since v1.4: room types to list; `null` stands for rooms without a type. */
  readonly roomTypes?: readonly (string | null)[];
  readonly includeAllNetworks?: boolean;
  readonly thirdPartyInstanceId?: string;
}

/**
 * Which list a request reads, as Synapse picks it: every list with `include_all_networks`, a
 * bridge network's with `third_party_instance_id`, else the server's own. Rooms a bridge published
 * for a network appear only there (or with `include_all_networks`).
 */
const networkOf = (options: PublicRoomsRequest): PublicRoomsNetwork | undefined => {
  if (options.includeAllNetworks === true) return 'all';
  if (options.thirdPartyInstanceId === undefined) return undefined;
  const instance = parseThirdPartyInstanceId(options.thirdPartyInstanceId);
  if (instance === undefined) throw invalidParam(`Invalid third_party_instance_id ${JSON.stringify(options.thirdPartyInstanceId)}: expected appserviceId|networkId`);
  // Synapse reads an empty appservice id as the server's own list.
  return instance.appserviceId === '' ? undefined : instance;
};

/** `GET`/`POST /publicRooms`: `since` tokens are `p<offset>` into the ordered list. */
export const publicRooms = async (ctx: RoomsContext, options: PublicRoomsRequest): Promise<JsonObject> => {
  if (options.server !== undefined && options.server !== ctx.serverName) {
    if (!parseServerName(options.server).ok) throw invalidParam("'server' is not a server name");
    if (ctx.remoteServers !== undefined) {
      // list_public_rooms.yaml `server`: "The server to fetch the public room lists from"; that
      // server's own list (server-server-api § Public Room Directory), its tokens passed through.
      return ctx.remoteServers.publicRooms(options.server, {
        // As for our own list, an absent or 0 limit is the cap, which bounds the remote's page too.
        limit: Math.min(options.limit === undefined || options.limit === 0 ? MAX_PUBLIC_ROOMS : options.limit, MAX_PUBLIC_ROOMS),
        ...(options.since === undefined ? {} : { since: options.since }),
        ...(options.searchTerm === undefined ? {} : { searchTerm: options.searchTerm }),
        ...(options.roomTypes === undefined ? {} : { roomTypes: options.roomTypes }),
        ...(options.includeAllNetworks === undefined ? {} : { includeAllNetworks: options.includeAllNetworks }),
        ...(options.thirdPartyInstanceId === undefined ? {} : { thirdPartyInstanceId: options.thirdPartyInstanceId }),
      });
    }
    // Synapse answers 502 when it cannot fetch another server's list; without federation it never can.
    throw new MatrixError('M_UNKNOWN', 502, 'Failed to fetch room list: listing rooms of another server needs federation, not supported yet');
  }
  if (options.includeAllNetworks === true && options.thirdPartyInstanceId !== undefined) {
    // list_public_rooms.yaml: third_party_instance_id "Can only be used if include_all_networks is false" (Synapse: 400).
    throw invalidParam("Can't use include_all_networks with an explicit network");
  }
  // Synapse: an absent limit or 0 means "no limit", i.e. the cap.
  const limit = Math.min(options.limit === undefined || options.limit === 0 ? MAX_PUBLIC_ROOMS : options.limit, MAX_PUBLIC_ROOMS);
  let offset = 0;
  if (options.since !== undefined) {
    const match = /^p(\d{1,9})$/.exec(options.since);
    if (match === null) throw invalidParam("Invalid 'since' token");
    offset = Number(match[1]);
  }
  const network = networkOf(options);
  const page = await ctx.directory.publicRooms({
    limit, offset, ...(network === undefined ? {} : { network }),
    ...(options.searchTerm === undefined ? {} : { searchTerm: options.searchTerm }),
    ...(options.roomTypes === undefined ? {} : { roomTypes: options.roomTypes }),
  });
  const response: JsonObject = { chunk: page.chunk, total_room_count_estimate: page.total };
  if (page.nextOffset !== null) response.next_batch = `p${page.nextOffset}`;
  if (offset > 0) response.prev_batch = `p${Math.max(0, offset - limit)}`;
  return response;
};
