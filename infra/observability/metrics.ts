/**
 * Prometheus metrics, one Registry per process (no global default registry, so tests and several
 * servers in one process do not collide).
 */
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  /** Records one HTTP request; `route` is the route template (e.g. `/rooms/:roomId/send`), never the raw path. */
  observeHttpRequest(method: string, route: string, status: number, seconds: number): void;
  /**
   * Called by the projection runtime after each batch: lag = records in the partition not yet
   * applied (`highWatermark - nextOffset`).
   */
  onBatch(projection: string, partition: number, nextOffset: number, highWatermark: number): void;
  /** Prometheus text exposition of every metric. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Buckets from 1 ms to 30 s: most endpoints answer fast, /sync long-polls up to its timeout. */
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const createMetrics = (options: { defaultMetrics?: boolean } = {}): Metrics => {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const httpDuration = new Histogram({
    name: 'strata_http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const projectionLag = new Gauge({
    name: 'strata_projection_lag',
    help: 'Log records not yet applied by a projection, per partition',
    labelNames: ['projection', 'partition'] as const,
    registers: [registry],
  });
  return {
    registry,
    observeHttpRequest: (method, route, status, seconds) =>
      httpDuration.observe({ method, route, status: String(status) }, seconds),
    onBatch: (projection, partition, nextOffset, highWatermark) =>
      projectionLag.set({ projection, partition: String(partition) }, Math.max(0, highWatermark - nextOffset)),
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
};
