/**
 * Outermost middleware: gives the request an id and a child logger, times it, feeds the latency
 * histogram (labelled by route template so label values stay few) and writes one access log line.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { HttpMetrics, StrataContext, StrataMiddleware } from './context.ts';

/** Accept a caller's id only if it cannot smuggle anything odd into logs or headers. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const PREFLIGHT_ROUTE = '(preflight)';
export const UNMATCHED_ROUTE = '(unmatched)';

const routeTemplateOf = (ctx: StrataContext): string => {
  if (ctx.method === 'OPTIONS') return PREFLIGHT_ROUTE;
  const matched = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
  return matched === undefined ? UNMATCHED_ROUTE : String(matched);
};

export const requestContext = (logger: Logger, metrics: HttpMetrics | undefined): StrataMiddleware =>
  async (ctx, next) => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('X-Request-Id');
    const requestId = SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ request_id: requestId });
    ctx.set('X-Request-Id', requestId);
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeTemplateOf(ctx);
      metrics?.observeHttpRequest(ctx.method, route, ctx.status, seconds);
      // ctx.path, not ctx.url: query strings may carry access tokens from older clients.
      ctx.state.log.info(
        { method: ctx.method, path: ctx.path, route, status: ctx.status, duration_ms: Math.round(seconds * 1e4) / 10 },
        'request',
      );
    }
  };
