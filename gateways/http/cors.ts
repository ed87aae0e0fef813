/**
 * CORS as the C-S API asks (client-server-api § Web Browser Clients): the recommended headers on
 * every response, and OPTIONS answered for any path without running the endpoint's logic.
 */
import type { StrataMiddleware } from './context.ts';

export const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'X-Requested-With, Content-Type, Authorization',
} as const;

export const cors: StrataMiddleware = async (ctx, next) => {
  ctx.set(CORS_HEADERS);
  // "the server MUST NOT perform any logic defined for the endpoints when approached with an
  // OPTIONS request".
  if (ctx.method === 'OPTIONS') {
    ctx.status = 204;
    return;
  }
  await next();
};
