/**
 * GET /_matrix/client/versions (client-server-api § Capabilities negotiation): the spec versions
 * this server implements. No authentication; the list comes from the composition root so that it
 * only names versions whose features actually work (infra/strata.ts says why it stops at v1.10).
 * `unstable_features` names only MSCs served under their unstable names (the composition root's list).
 */
import { Router } from '@koa/router';
import type { RequestState } from '../http/index.ts';

export interface VersionsOptions {
  /** e.g. `['v1.11', 'v1.12']`. */
  readonly versions: readonly string[];
  /** Unstable feature flags, e.g. `{ 'org.matrix.msc3916.stable': true }`. */
  readonly unstableFeatures?: Readonly<Record<string, boolean>>;
}

export const versionsRouter = (options: VersionsOptions): Router<RequestState> => {
  const router = new Router<RequestState>();
  const body = { versions: [...options.versions], unstable_features: { ...options.unstableFeatures } };
  router.get('/_matrix/client/versions', (ctx) => {
    ctx.body = body;
  });
  return router;
};
