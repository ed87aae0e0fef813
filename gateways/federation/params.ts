/** Reading federation request parameters: query strings as given, required ones refused when absent. */
import { MatrixError } from '../../domain/index.ts';
import type { StrataContext } from '../http/index.ts';

/** The last value of a repeated query parameter (as the client routes read them); undefined when absent. */
export const queryParam = (ctx: StrataContext, name: string): string | undefined => {
  const value = ctx.query[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
};

export const requiredQueryParam = (ctx: StrataContext, name: string): string => {
  const value = queryParam(ctx, name);
  if (value === undefined) throw new MatrixError('M_MISSING_PARAM', 400, `Missing '${name}'`);
  return value;
};

export const pathParam = (ctx: StrataContext, name: string): string => {
  const value = (ctx.params as Record<string, string | undefined>)[name];
  if (value === undefined) throw new Error(`route has no :${name} parameter`);
  return value;
};
