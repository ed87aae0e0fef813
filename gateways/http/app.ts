/**
 * The Koa application every HTTP surface (client, federation, admin, ops) is mounted on. Routers
 * are plain @koa/router instances; the middleware around them is the same for all.
 */
import Koa from 'koa';
import type { Logger } from 'pino';
import type { HttpMetrics, RequestState, StrataMiddleware, StrataRouter } from './context.ts';
import { unrecognized } from './errors.ts';
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
  // Errors are rendered and logged by requestContext; this catches what escapes Koa's own response
  // writing (e.g. a client gone mid-stream) so Koa never prints to stderr.
  app.on('error', (error: unknown) => options.logger.warn({ err: error }, 'http response error'));
  app.use(requestContext(options.logger, options.metrics));
  for (const router of options.routers) app.use(skippingUnmatched(router));
  app.use(unrecognized(options.routers));
  routersOf.set(app, options.routers);
  return app;
};

interface Layer {
  readonly regexp: RegExp;
}

/**
 * The router's middleware behind one test of all its path patterns at once: a router none of
 * whose routes matches the path passes the request on, as its own dispatch would after testing
 * each route in turn (a request crosses every router mounted before its own). The patterns are
 * read when the first request arrives, so routes added after mounting count too.
 */
const skippingUnmatched = (router: StrataRouter): StrataMiddleware => {
  const dispatch = router.routes();
  let anyRoute: RegExp | null | undefined;
  let layers = -1;
  const combined = (): RegExp | null => {
    const stack = router.stack as unknown as readonly Layer[];
    if (anyRoute !== undefined && layers === stack.length) return anyRoute;
    layers = stack.length;
    anyRoute = combine(router, stack);
    return anyRoute;
  };
  return (ctx, next) => {
    const pattern = combined();
    // The path the router itself matches against (its `_getRequestPath`).
    const path = (ctx as { newRouterPath?: string }).newRouterPath || ctx.path;
    if (pattern !== null && !pattern.test(path)) return next();
    return dispatch(ctx as Parameters<typeof dispatch>[0], next);
  };
};

/** One pattern matching what any layer matches, or null when they cannot be combined faithfully. */
const combine = (router: StrataRouter, stack: readonly Layer[]): RegExp | null => {
  const flags = new Set(stack.map((layer) => layer.regexp.flags));
  const [only] = flags;
  // Stateful (g, y) or differing flags, a host-bound router or its own routerPath: dispatch as is.
  if (only === undefined || flags.size !== 1 || /[gy]/.test(only) || router.host !== undefined || router.opts.routerPath !== undefined) {
    return null;
  }
  try {
    return new RegExp(stack.map((layer) => `(?:${layer.regexp.source})`).join('|'), only);
  } catch {
    return null;
  }
};

/** The routers each application was created with, for `routeTable`. */
const routersOf = new WeakMap<Koa<RequestState>, readonly StrataRouter[]>();

/** Every `METHOD path-template` the application's routers serve (HEAD, which Koa adds to each GET, left out). */
export const routeTable = (app: Koa<RequestState>): string[] =>
  (routersOf.get(app) ?? []).flatMap((router) => (router.stack as unknown as readonly { readonly methods: readonly string[]; readonly path: string }[])
    .flatMap((layer) => layer.methods.filter((method) => method !== 'HEAD').map((method) => `${method} ${layer.path}`)));
