import { afterEach, describe, expect, it } from 'vitest';
import { versionsRouter } from '../client/index.ts';
import { serveTestApp, type TestApp } from '../../test/harness/index.ts';
import { healthRouter, metricsRouter, type HealthCheck } from './index.ts';

const up: HealthCheck = async () => undefined;
const down: HealthCheck = async () => {
  throw new Error('connection refused');
};
const hangs: HealthCheck = () => new Promise(() => undefined);

let app: TestApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const health = async (checks: Record<string, HealthCheck | null>) => {
  app = await serveTestApp({ routers: [healthRouter({ checks, timeoutMs: 200 })] });
  const response = await fetch(`${app.url}/health`);
  return { status: response.status, body: (await response.json()) as { dependencies: Record<string, string> } };
};

describe('GET /health', () => {
  it('is 200 when every configured dependency is up, and lists the unconfigured ones', async () => {
    expect(await health({ log: up, database: up, clickhouse: null })).toEqual({
      status: 200,
      body: { status: 'ok', dependencies: { log: 'up', database: 'up', clickhouse: 'not configured' } },
    });
  });

  it('is 503 when a dependency fails, naming it', async () => {
    expect(await health({ log: up, database: down, clickhouse: up })).toEqual({
      status: 503,
      body: { status: 'unavailable', dependencies: { log: 'up', database: 'down', clickhouse: 'up' } },
    });
    const failed = app?.logs.find((line) => line.msg === 'health check failed');
    expect(failed).toMatchObject({ dependency: 'database' });
  });

  it('is 503 while a consumer is stopped, naming it with the record and the error', async () => {
    const since = Date.UTC(2026, 0, 1);
    const consumers = () => [
      { name: 'rooms', state: 'stopped', retries: 5, since, error: 'gap in room !r:x', at: { topic: 'strata.room.events', partition: 2, offset: 17 } },
      { name: 'push_gateway', state: 'running', retries: 0, since },
    ];
    app = await serveTestApp({ routers: [healthRouter({ checks: { log: up }, consumers, timeoutMs: 200 })] });
    const response = await fetch(`${app.url}/health`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      status: 'unavailable',
      dependencies: { log: 'up' },
      consumers: {
        rooms: {
          state: 'stopped', since: '2026-01-01T00:00:00.000Z', retries: 5, topic: 'strata.room.events', partition: 2, offset: 17,
          error: 'gap in room !r:x',
        },
        push_gateway: { state: 'running', since: '2026-01-01T00:00:00.000Z', retries: 0 },
      },
    });
  });

  it('answers within its deadline when a dependency hangs', async () => {
    const started = Date.now();
    const { status, body } = await health({ log: hangs, database: up, clickhouse: null });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(status).toBe(503);
    expect(body.dependencies.log).toBe('down');
  });
});

describe('GET /metrics and /_matrix/client/versions', () => {
  it('serves the Prometheus text from the metrics source', async () => {
    const source = { render: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'up 1\n' }) };
    app = await serveTestApp({ routers: [metricsRouter(source)] });
    const response = await fetch(`${app.url}/metrics`);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(await response.text()).toBe('up 1\n');
  });

  it('serves the versions it is given and empty unstable_features', async () => {
    app = await serveTestApp({ routers: [versionsRouter({ versions: ['v1.11', 'v1.12'] })] });
    const response = await fetch(`${app.url}/_matrix/client/versions`);
    expect(await response.json()).toEqual({ versions: ['v1.11', 'v1.12'], unstable_features: {} });
  });
});
