/** GET /metrics: the Prometheus text exposition of the process's registry. */
import { Router } from '@koa/router';
import type { RequestState } from '../http/index.ts';

export interface MetricsSource {
  render(): Promise<{ contentType: string; body: string }>;
}

export const metricsRouter = (metrics: MetricsSource): Router<RequestState> => {
  const router = new Router<RequestState>();
  router.get('/metrics', async (ctx) => {
    const { contentType, body } = await metrics.render();
    ctx.type = contentType;
    ctx.body = body;
  });
  return router;
};
