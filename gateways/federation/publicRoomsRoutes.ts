/**
 * `GET` and `POST /_matrix/federation/v1/publicRooms` (server-server-api.md § Public Room
 * Directory, public_rooms.yaml): our published rooms, for another server whose user browses our
 * directory (its client asked `/publicRooms?server=` us). The client API's use-case answers, with
 * the same paging tokens and bounds; the request names no `server`, since we list only our own.
 */
import { Router } from '@koa/router';
import type { FederationQueries } from '../../domain/app/federation/index.ts';
import { isJsonObject, MatrixError, type JsonObject } from '../../domain/index.ts';
import type { RequestState, StrataMiddleware } from '../http/index.ts';
import { signedContent } from './auth.ts';
import { queryParam } from './params.ts';

export interface FederationPublicRoomsRoutesOptions {
  readonly queries: Pick<FederationQueries, 'publicRooms'>;
  /** federationAuth: both forms need a signed request. */
  readonly auth: StrataMiddleware;
}

const invalidParam = (message: string): MatrixError => new MatrixError('M_INVALID_PARAM', 400, message);

const optionalLimit = (value: unknown): number | undefined => {
  if (value === undefined || value === null) return undefined;
  const limit = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) throw invalidParam("'limit' must be a non-negative integer");
  return limit;
};

const optionalString = (value: unknown, name: string): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidParam(`'${name}' must be a string`);
  return value;
};

/** `include_all_networks`: a boolean in the body, `true`/`false` in the query string. */
const flag = (value: unknown): boolean => value === true || value === 'true';

/** public_rooms.yaml `filter.room_types` (since v1.4): strings, or null for rooms without a type; an empty list filters nothing. */
const roomTypesOf = (value: unknown): (string | null)[] | undefined => {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => item === null || typeof item === 'string')) {
    throw invalidParam("'filter.room_types' must be an array of strings or null");
  }
  return value.length === 0 ? undefined : value as (string | null)[];
};

export const createFederationPublicRoomsRouter = (options: FederationPublicRoomsRoutesOptions): Router<RequestState> => {
  const router = new Router<RequestState>();
  const path = '/_matrix/federation/v1/publicRooms';
  router.get(path, options.auth, async (ctx) => {
    const limit = optionalLimit(queryParam(ctx, 'limit'));
    const since = queryParam(ctx, 'since');
    const network = queryParam(ctx, 'third_party_instance_id');
    ctx.body = await options.queries.publicRooms({
      ...(limit === undefined ? {} : { limit }), ...(since === undefined ? {} : { since }),
      ...(flag(queryParam(ctx, 'include_all_networks')) ? { includeAllNetworks: true } : {}),
      ...(network === undefined ? {} : { thirdPartyInstanceId: network }),
    });
  });
  router.post(path, options.auth, async (ctx) => {
    const request: JsonObject = signedContent(ctx);
    const limit = optionalLimit(request.limit);
    const since = optionalString(request.since, 'since');
    const network = optionalString(request.third_party_instance_id, 'third_party_instance_id');
    if (request.filter !== undefined && request.filter !== null && !isJsonObject(request.filter)) throw invalidParam("'filter' must be an object");
    const filter = isJsonObject(request.filter) ? request.filter : {};
    const term = optionalString(filter.generic_search_term, 'filter.generic_search_term');
    const roomTypes = roomTypesOf(filter.room_types);
    ctx.body = await options.queries.publicRooms({
      ...(limit === undefined ? {} : { limit }), ...(since === undefined ? {} : { since }),
      ...(term === undefined || term === '' ? {} : { searchTerm: term }),
      ...(roomTypes === undefined ? {} : { roomTypes }),
      ...(flag(request.include_all_networks) ? { includeAllNetworks: true } : {}),
      ...(network === undefined ? {} : { thirdPartyInstanceId: network }),
    });
  });
  return router;
};
