/**
 * Renders the 401 of user-interactive auth: its body is `flows`/`params`/`session`/`completed`
 * (plus `errcode`/`error` after a failed stage), not a plain error, so it is not a MatrixError.
 */
import { isUiaChallenge } from '../../../domain/app/accounts/index.ts';
import type { StrataMiddleware } from '../../http/index.ts';

export const renderUiaChallenge: StrataMiddleware = async (ctx, next) => {
  try {
    await next();
  } catch (error) {
    if (!isUiaChallenge(error)) throw error;
    ctx.status = error.status;
    ctx.body = error.body;
  }
};
