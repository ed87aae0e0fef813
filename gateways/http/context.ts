/** What every request carries through the middleware chain, and the small ports the app needs. */
import type { Logger } from 'pino';
import type { Middleware, ParameterizedContext } from 'koa';
import type { Router } from '@koa/router';

export interface RequestState {
  /** From the incoming X-Request-Id when it is sane, generated otherwise; echoed in the response. */
  requestId: string;
  /** A child logger carrying `request_id`: use it for every log line about this request. */
  log: Logger;
}

export type StrataContext = ParameterizedContext<RequestState>;
export type StrataMiddleware = Middleware<RequestState>;
export type StrataRouter = Router<RequestState>;

/** The slice of the metrics registry the HTTP layer feeds (infra/observability's Metrics fits). */
export interface HttpMetrics {
  observeHttpRequest(method: string, route: string, status: number, seconds: number): void;
}
