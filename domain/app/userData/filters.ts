/** `POST /user/{userId}/filter` and `GET /user/{userId}/filter/{filterId}` (filter.yaml). */
import { MatrixError } from '../../errors.ts';
import type { JsonObject, JsonValue } from '../../json.ts';
import { jsonShapeProblem, REQUEST_JSON_CHECKS } from '../../limits.ts';
import type { Requester, UserDataContext } from './context.ts';
import { notFound, requireSelf } from './errors.ts';
import { parseFilter, type Filter } from './filter.ts';

export const createFilter = async (ctx: UserDataContext, requester: Requester, userId: string, body: JsonObject): Promise<string> => {
  requireSelf(requester.userId, userId, 'filters');
  parseFilter(body);
  return ctx.stores.filters.create(userId, body);
};

export const getFilter = async (ctx: UserDataContext, requester: Requester, userId: string, filterId: string): Promise<JsonObject> => {
  requireSelf(requester.userId, userId, 'filters');
  const filter = await ctx.stores.filters.get(userId, filterId);
  if (filter === undefined) throw notFound('No such filter');
  return filter;
};

/**
 * The `filter` query parameter of /sync and /messages: a filter id, or a filter as JSON text when
 * it starts with `{`.
 */
export const resolveFilter = async (ctx: UserDataContext, userId: string, param: string | undefined): Promise<Filter> => {
  if (param === undefined || param === '') return parseFilter({});
  if (param.startsWith('{')) {
    let json: JsonValue;
    try {
      json = JSON.parse(param) as JsonValue;
    } catch {
      throw new MatrixError('M_NOT_JSON', 400, 'The filter is not valid JSON');
    }
    // The same bounds as a filter uploaded in a body (domain/limits.ts).
    const problem = jsonShapeProblem(json, REQUEST_JSON_CHECKS);
    if (problem !== undefined) throw new MatrixError('M_BAD_JSON', 400, `Unacceptable filter: ${problem.reason}`);
    return parseFilter(json);
  }
  const stored = await ctx.stores.filters.get(userId, param);
  if (stored === undefined) throw new MatrixError('M_INVALID_PARAM', 400, `No filter with id ${JSON.stringify(param)}`);
  return parseFilter(stored);
};
