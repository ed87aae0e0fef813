/**
 * Aliases and the public room directory (directory.yaml, list_public_rooms.yaml), and bridges'
 * network lists (appservice_room_directory.yaml).
 */
import { MatrixError, isJsonObject } from '../../../domain/index.ts';
import type { Appservices } from '../../../domain/app/appservices/index.ts';
import type { Rooms } from '../../../domain/app/rooms/index.ts';
import type { StrataMiddleware, StrataRouter } from '../../http/index.ts';
import { allowGuests, clientPaths, requesterOf } from '../accounts/index.ts';
import { body, param, queryString, roomRequester } from './common.ts';

const optionalLimit = (value: unknown): number | undefined => {
  if (value === undefined || value === null) return undefined;
  const limit = typeof value === 'string' ? Number(value) : value;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) throw new MatrixError('M_INVALID_PARAM', 400, "'limit' must be a non-negative integer");
  return limit;
};

/** Since v1.4 `filter.room_types`: strings, or null for rooms without a type; absent, null or [] = all rooms. */
const roomTypesOf = (value: unknown): (string | null)[] | undefined => {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => item === null || typeof item === 'string')) {
    throw new MatrixError('M_INVALID_PARAM', 400, "'filter.room_types' must be an array of strings or null");
  }
  // Synapse: an empty list filters nothing.
  return value.length === 0 ? undefined : value as (string | null)[];
};

/** `include_all_networks` in the query string: `true` or `false`, as Synapse's parse_boolean reads it. */
const queryFlag = (value: string | undefined): boolean => {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new MatrixError('M_INVALID_PARAM', 400, "'include_all_networks' must be true or false");
};

const optionalInstanceId = (value: unknown): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new MatrixError('M_INVALID_PARAM', 400, "'third_party_instance_id' must be a string");
  return value;
};

export const addDirectoryRoutes = (
  router: StrataRouter, rooms: Rooms, auth: StrataMiddleware, appservices?: Pick<Appservices, 'setNetworkVisibility'>,
): void => {
  for (const path of clientPaths('/directory/room/:roomAlias')) {
    router.get(path, async (ctx) => {
      ctx.body = await rooms.getAlias(param(ctx, 'roomAlias'));
    });
    router.put(path, auth, async (ctx) => {
      const request = await body(ctx);
      if (typeof request.room_id !== 'string') throw new MatrixError('M_INVALID_PARAM', 400, "'room_id' must be a string");
      await rooms.putAlias(roomRequester(ctx), param(ctx, 'roomAlias'), request.room_id);
      ctx.body = {};
    });
    router.delete(path, auth, async (ctx) => {
      await rooms.deleteAlias(roomRequester(ctx), param(ctx, 'roomAlias'));
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/rooms/:roomId/aliases')) {
    router.get(path, auth, async (ctx) => {
      ctx.body = { aliases: await rooms.roomAliases(roomRequester(ctx), param(ctx, 'roomId')) };
    });
  }
  for (const path of clientPaths('/directory/list/room/:roomId')) {
    router.get(path, async (ctx) => {
      ctx.body = await rooms.getDirectoryVisibility(param(ctx, 'roomId'));
    });
    router.put(path, auth, async (ctx) => {
      const request = await body(ctx);
      await rooms.setDirectoryVisibility(roomRequester(ctx), param(ctx, 'roomId'), request.visibility ?? 'public');
      ctx.body = {};
    });
  }
  if (appservices !== undefined) {
    for (const path of clientPaths('/directory/list/appservice/:networkId/:roomId')) {
      router.put(path, auth, async (ctx) => {
        const request = await body(ctx);
        // The spec requires `visibility`; Synapse reads an absent one as public.
        await appservices.setNetworkVisibility(requesterOf(ctx).appservice, param(ctx, 'networkId'), param(ctx, 'roomId'), request.visibility ?? 'public');
        ctx.body = {};
      });
      // Not in the spec; Synapse withdraws the room this way too.
      router.delete(path, auth, async (ctx) => {
        await appservices.setNetworkVisibility(requesterOf(ctx).appservice, param(ctx, 'networkId'), param(ctx, 'roomId'), 'private');
        ctx.body = {};
      });
    }
  }
  for (const path of clientPaths('/publicRooms')) {
    router.get(path, async (ctx) => {
      const limit = optionalLimit(queryString(ctx, 'limit'));
      const since = queryString(ctx, 'since');
      const server = queryString(ctx, 'server');
      // Not in list_public_rooms.yaml's GET, but Synapse reads them there as in the POST body.
      const network = queryString(ctx, 'third_party_instance_id');
      ctx.body = await rooms.publicRooms({
        ...(limit === undefined ? {} : { limit }), ...(since === undefined ? {} : { since }), ...(server === undefined ? {} : { server }),
        ...(queryFlag(queryString(ctx, 'include_all_networks')) ? { includeAllNetworks: true } : {}),
        ...(network === undefined ? {} : { thirdPartyInstanceId: network }),
      });
    });
    router.post(path, allowGuests, auth, async (ctx) => {
      const request = await body(ctx, undefined, true);
      const limit = optionalLimit(request.limit);
      const since = typeof request.since === 'string' ? request.since : undefined;
      const server = queryString(ctx, 'server');
      const filter = isJsonObject(request.filter) ? request.filter : {};
      const searchTerm = typeof filter.generic_search_term === 'string' && filter.generic_search_term !== '' ? filter.generic_search_term : undefined;
      const roomTypes = roomTypesOf(filter.room_types);
      const network = optionalInstanceId(request.third_party_instance_id);
      ctx.body = await rooms.publicRooms({
        ...(limit === undefined ? {} : { limit }), ...(since === undefined ? {} : { since }),
        ...(server === undefined ? {} : { server }), ...(searchTerm === undefined ? {} : { searchTerm }),
        ...(roomTypes === undefined ? {} : { roomTypes }),
        ...(request.include_all_networks === true ? { includeAllNetworks: true } : {}),
        ...(network === undefined ? {} : { thirdPartyInstanceId: network }),
      });
    });
  }
};
