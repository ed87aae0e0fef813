/**
 * The Koa application every HTTP surface (client, federation, admin, ops) is mounted on. Routers
 * are plain @koa/router instances; the middleware around them is the same for all.
 */
import Koa from 'koa';
import type { Logger } from 'pino';
import type { HttpMetrics, RequestState, StrataRouter } from './context.ts';
import { cors } from './cors.ts';
import { renderErrors, unrecognized } from './errors.ts';
import { requestContext } from './requestContext.ts';

export interface HttpAppOptions {
  readonly logger: Logger;
  readonly metrics?: HttpMetrics;
  /** Mounted in order; the first route that matches path and method answers. */
  readonly routers: readonly StrataRouter[];
  /** Trust X-Forwarded-* from a reverse proxy (Koa's `proxy`). Default false. */
  readonly behindProxy?: boolean;
}

export const createHttpApp = (options: HttpAppOptions): Koa<RequestState> => {
  const app = new Koa<RequestState>({ proxy: options.behindProxy ?? false });
  // Errors are rendered and logged by renderErrors; this catches what escapes Koa's own response
  // writing (e.g. a client gone mid-stream) so Koa never prints to stderr.
  app.on('error', (error: unknown) => options.logger.warn({ err: error }, 'http response error'));
  app.use(requestContext(options.logger, options.metrics));
  app.use(cors);
  app.use(renderErrors);
  for (const router of options.routers) app.use(router.routes());
  app.use(unrecognized(options.routers));
  return app;
};
