/**
 * GET /health: one status per dependency (the log, the read-model database, ClickHouse when
 * configured). 200 when every configured dependency answers, 503 otherwise, so a load balancer or
 * orchestrator can take the process out of rotation.
 */
import { Router } from '@koa/router';
import type { RequestState } from '../http/index.ts';

/** Resolves when the dependency is reachable; rejects (or times out) when it is not. */
export type HealthCheck = () => Promise<void>;

export interface HealthOptions {
  /** A check per dependency; `null` marks one that is not configured (reported, never failing). */
  readonly checks: Readonly<Record<string, HealthCheck | null>>;
  /** Per-check deadline (default 2 s): /health must answer even when a dependency hangs. */
  readonly timeoutMs?: number;
}

export type DependencyStatus = 'up' | 'down' | 'not configured';

const withDeadline = (check: HealthCheck, ms: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    check().then(resolve, reject).finally(() => clearTimeout(timer));
  });

export const healthRouter = (options: HealthOptions): Router<RequestState> => {
  const router = new Router<RequestState>();
  const timeoutMs = options.timeoutMs ?? 2_000;
  router.get('/health', async (ctx) => {
    const entries = await Promise.all(Object.entries(options.checks).map(async ([name, check]) => {
      if (check === null) return [name, 'not configured'] as const;
      try {
        await withDeadline(check, timeoutMs);
        return [name, 'up'] as const;
      } catch (error) {
        ctx.state.log.warn({ dependency: name, err: error }, 'health check failed');
        return [name, 'down'] as const;
      }
    }));
    const dependencies: Record<string, DependencyStatus> = Object.fromEntries(entries);
    const healthy = entries.every(([, status]) => status !== 'down');
    ctx.status = healthy ? 200 : 503;
    ctx.body = { status: healthy ? 'ok' : 'unavailable', dependencies };
  });
  return router;
};
