/**
 * User-interactive auth at the HTTP edge: the request a session is bound to, and the 401 whose
 * body is `flows`/`params`/`session`/`completed` (plus `errcode`/`error` after a failed stage),
 * not a plain error, so it is not a MatrixError.
 */
import { isUiaChallenge, type GuardedRequest } from '../../../domain/app/accounts/index.ts';
import type { JsonObject } from '../../../domain/index.ts';
import type { StrataContext, StrataMiddleware } from '../../http/index.ts';

export const renderUiaChallenge: StrataMiddleware = async (ctx, next) => {
  try {
    await next();
  } catch (error) {
    if (!isUiaChallenge(error)) throw error;
    ctx.status = error.status;
    ctx.body = error.body;
  }
};

/** The guarded request as the client made it: method, path (its query may carry a token), body. */
export const guardedRequest = (ctx: StrataContext, body: JsonObject): GuardedRequest => ({
  method: ctx.method,
  uri: ctx.path,
  body,
  clientIp: ctx.ip,
});
