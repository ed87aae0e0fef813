/**
 * GET /_matrix/federation/v1/version (server-server-api.md § Server implementation,
 * version.yaml): the server's implementation name and version. Unauthenticated, as the spec
 * defines it, so remote servers and federation testers can ask before trusting any key.
 */
import { Router } from '@koa/router';
import type { RequestState } from '../http/index.ts';

export interface FederationVersionOptions {
  /** Strata's version, e.g. `0.1.0`. */
  readonly version: string;
}

export const federationVersionRouter = (options: FederationVersionOptions): Router<RequestState> => {
  const router = new Router<RequestState>();
  const body = { server: { name: 'Strata', version: options.version } };
  router.get('/_matrix/federation/v1/version', (ctx) => {
    ctx.body = body;
  });
  return router;
};
