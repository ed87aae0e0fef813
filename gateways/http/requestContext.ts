/**
 * Outermost middleware: gives the request an id and a logger carrying it, puts the CORS headers on
 * every response (answering preflights), renders errors, times the request, feeds the latency
 * histogram (labelled by route template so label values stay few) and writes one access log line;
 * it also holds every request to the bounds of requestBounds.ts (path segments, unread bodies).
 * One middleware rather than three: each Koa middleware costs a promise and a bound function per
 * request, on every request of the server.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { HttpMetrics, RequestState, StrataContext, StrataMiddleware } from './context.ts';
import { MatrixError } from '../../domain/index.ts';
import { answersPreflight } from './cors.ts';
import { renderError } from './errors.ts';
import { checkPathSegments, settleUnreadBody } from './requestBounds.ts';

/**
 * No identifier, event type, state key or token may hold U+0000, and the read models cannot store
 * one: a percent-encoded NUL anywhere in the path or query is refused before routing.
 */
const NUL_ESCAPE = /%00/;

/** Accept a caller's id only if it cannot smuggle anything odd into logs or headers. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const PREFLIGHT_ROUTE = '(preflight)';
export const UNMATCHED_ROUTE = '(unmatched)';

const routeTemplateOf = (ctx: StrataContext): string => {
  if (ctx.method === 'OPTIONS') return PREFLIGHT_ROUTE;
  const matched = (ctx as { _matchedRoute?: string | RegExp })._matchedRoute;
  return matched === undefined ? UNMATCHED_ROUTE : String(matched);
};

/**
 * The request's state. Its child logger is made on first use: most requests log nothing but the
 * access line, which the root logger writes with the same `request_id` field first, as the child would.
 */
class RequestStateWithLog implements RequestState {
  requestId: string;
  readonly #root: Logger;
  #log: Logger | undefined;

  constructor(root: Logger, requestId: string) {
    this.#root = root;
    this.requestId = requestId;
  }

  get log(): Logger {
    return (this.#log ??= this.#root.child({ request_id: this.requestId }));
  }

  set log(log: Logger) {
    this.#log = log;
  }

  /** Writes the access log line through the child logger if one was made, else through the root. */
  logRequest(method: string, path: string, route: string, status: number, durationMs: number): void {
    if (this.#log !== undefined) this.#log.info({ method, path, route, status, duration_ms: durationMs }, 'request');
    else this.#root.info({ request_id: this.requestId, method, path, route, status, duration_ms: durationMs }, 'request');
  }
}

export const requestContext = (logger: Logger, metrics: HttpMetrics | undefined): StrataMiddleware =>
  async (ctx, next) => {
    const started = process.hrtime.bigint();
    const incoming = ctx.get('X-Request-Id');
    const requestId = SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const state = new RequestStateWithLog(logger, requestId);
    ctx.state = state;
    // Straight on the response: the id is a UUID or passed SANE_REQUEST_ID, valid as it is.
    ctx.res.setHeader('X-Request-Id', requestId);
    try {
      if (!answersPreflight(ctx)) {
        try {
          if (NUL_ESCAPE.test(ctx.url)) throw new MatrixError('M_INVALID_PARAM', 400, 'U+0000 is not allowed in a request path or query');
          checkPathSegments(ctx.path);
          await next();
        } catch (error) {
          renderError(ctx, error);
        }
        // Koa labels JSON `application/json; charset=utf-8`; Synapse sends the bare type (JSON is
        // UTF-8 by definition, RFC 8259), which some clients and proxies compare literally.
        if (ctx.response.type === 'application/json') ctx.set('Content-Type', 'application/json');
      }
      const settling = settleUnreadBody(ctx);
      if (settling !== undefined) await settling;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = routeTemplateOf(ctx);
      metrics?.observeHttpRequest(ctx.method, route, ctx.status, seconds);
      // ctx.path, not ctx.url: query strings may carry access tokens from older clients.
      if (logger.isLevelEnabled('info')) {
        state.logRequest(ctx.method, ctx.path, route, ctx.status, Math.round(seconds * 1e4) / 10);
      }
    }
  };
