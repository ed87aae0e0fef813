/**
 * CORS as the C-S API asks (client-server-api § Web Browser Clients): the recommended headers on
 * every response, and OPTIONS answered for any path without running the endpoint's logic.
 */
import type { StrataContext } from './context.ts';

export const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'X-Requested-With, Content-Type, Authorization',
} as const;

const CORS_ENTRIES = Object.entries(CORS_HEADERS);

/**
 * Sets the CORS headers (straight on the response: they are constant and valid, so Koa's
 * per-header checks add nothing) and answers a preflight; true when the request is answered.
 */
export const answersPreflight = (ctx: StrataContext): boolean => {
  const { res } = ctx;
  for (const [name, value] of CORS_ENTRIES) res.setHeader(name, value);
  // "the server MUST NOT perform any logic defined for the endpoints when approached with an
  // OPTIONS request".
  if (ctx.method !== 'OPTIONS') return false;
  ctx.status = 204;
  return true;
};
