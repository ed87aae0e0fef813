/**
 * GET /metrics: the Prometheus text exposition of the process's registry. Mounted only on the
 * metrics listener (never the client one), like Synapse's `metrics` listener; with a token, a
 * scrape must also carry `Authorization: Bearer <token>`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Router } from '@koa/router';
import { MatrixError } from '../../domain/index.ts';
import type { RequestState } from '../http/index.ts';

export interface MetricsSource {
  render(): Promise<{ contentType: string; body: string }>;
}

export interface MetricsRouterOptions {
  /** Required bearer token; unset ⇒ whoever reaches the listener may scrape. */
  readonly token?: string;
}

// Digests have one length, so comparing them neither throws nor reveals the token's length.
const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

const bearerToken = (header: string | undefined): string | undefined => {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '');
  return match?.[1];
};

export const metricsRouter = (metrics: MetricsSource, options: MetricsRouterOptions = {}): Router<RequestState> => {
  const router = new Router<RequestState>();
  const expected = options.token === undefined ? undefined : digest(options.token);
  router.get('/metrics', async (ctx) => {
    if (expected !== undefined) {
      const given = bearerToken(ctx.get('Authorization') || undefined);
      if (given === undefined || !timingSafeEqual(digest(given), expected)) {
        ctx.set('WWW-Authenticate', 'Bearer realm="metrics"');
        throw given === undefined
          ? new MatrixError('M_MISSING_TOKEN', 401, 'Missing bearer token')
          : new MatrixError('M_UNKNOWN_TOKEN', 401, 'Unknown bearer token');
      }
    }
    const { contentType, body } = await metrics.render();
    ctx.type = contentType;
    ctx.body = body;
  });
  return router;
};
