/**
 * GET /health: one status per dependency (the log, the read-model database, ClickHouse when
 * configured) and per log consumer (as its supervisor reports it). 200 when every configured
 * dependency answers and every consumer runs, 503 otherwise, so a load balancer or orchestrator
 * can take the process out of rotation. A consumer stopped on a poison record is named with the
 * record (topic, partition, offset) and the error.
 */
import { Router } from '@koa/router';
import type { RequestState } from '../http/index.ts';

/** Resolves when the dependency is reachable; rejects (or times out) when it is not. */
export type HealthCheck = () => Promise<void>;

export interface HealthOptions {
  /** A check per dependency; `null` marks one that is not configured (reported, never failing). */
  readonly checks: Readonly<Record<string, HealthCheck | null>>;
  /** The log consumers' statuses (projections/runtime/supervisor.ts), when there are any. */
  readonly consumers?: () => readonly ConsumerHealth[];
  /** Per-check deadline (default 2 s): /health must answer even when a dependency hangs. */
  readonly timeoutMs?: number;
}

export type DependencyStatus = 'up' | 'down' | 'not configured';

/** A consumer as the supervisor reports it: running, retrying (after a failure), stopped (on a poison record), closed. */
export interface ConsumerHealth {
  readonly name: string;
  readonly state: string;
  readonly retries: number;
  readonly error?: string;
  readonly at?: { readonly topic: string; readonly partition: number; readonly offset: number };
  readonly since: number;
}

/** Retrying means the consumer's reads go stale; stopped means they stay so until an operator acts. */
const UNHEALTHY_CONSUMER_STATES = new Set(['retrying', 'stopped']);

const consumerReport = (consumer: ConsumerHealth): Record<string, unknown> => ({
  state: consumer.state,
  since: new Date(consumer.since).toISOString(),
  retries: consumer.retries,
  ...(consumer.at === undefined ? {} : { topic: consumer.at.topic, partition: consumer.at.partition, offset: consumer.at.offset }),
  ...(consumer.error === undefined || !UNHEALTHY_CONSUMER_STATES.has(consumer.state) ? {} : { error: consumer.error }),
});

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
    const consumers = options.consumers?.() ?? [];
    const healthy = entries.every(([, status]) => status !== 'down')
      && consumers.every((consumer) => !UNHEALTHY_CONSUMER_STATES.has(consumer.state));
    ctx.status = healthy ? 200 : 503;
    ctx.body = {
      status: healthy ? 'ok' : 'unavailable',
      dependencies,
      ...(options.consumers === undefined ? {} : {
        consumers: Object.fromEntries(consumers.map((consumer) => [consumer.name, consumerReport(consumer)])),
      }),
    };
  });
  return router;
};
