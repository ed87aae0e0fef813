/**
 * Prometheus metrics, one Registry per process (no global default registry, so tests and several
 * servers in one process do not collide).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** A consumer's state as the supervisor reports it (projections/runtime/supervisor.ts). */
export type ConsumerStateName = 'running' | 'retrying' | 'stopped' | 'closed';
const CONSUMER_STATES: readonly ConsumerStateName[] = ['running', 'retrying', 'stopped', 'closed'];

export interface Metrics {
  readonly registry: Registry;
  /** Records one HTTP request; `route` is the route template (e.g. `/rooms/:roomId/send`), never the raw path. */
  observeHttpRequest(method: string, route: string, status: number, seconds: number): void;
  /**
   * Called by the projection runtime after each batch: lag = records in the partition not yet
   * applied (`highWatermark - nextOffset`).
   */
  onBatch(projection: string, partition: number, nextOffset: number, highWatermark: number): void;
  /**
   * Called by the consumer supervisor on each state change: `strata_consumer_state` is 1 for the
   * current state; a stop on a poison record sets `strata_consumer_stopped` with its position.
   */
  onConsumerState(consumer: string, state: ConsumerStateName, at: { topic: string; partition: number; offset: number } | undefined): void;
  /** Called by the consumer supervisor for each failure it retries. */
  onConsumerRetry(consumer: string, kind: string): void;
  /** One stage of a local send (domain/app/rooms/roomWriter.ts SendStage). */
  observeSendStage(stage: string, seconds: number): void;
  /** A /sync long-poll answered with news, `seconds` after the notifier woke it. */
  observeSyncAnswerAfterWake(seconds: number): void;
  /** Prometheus text exposition of every metric. */
  render(): Promise<{ contentType: string; body: string }>;
}

/** Buckets from 1 ms to 30 s: most endpoints answer fast, /sync long-polls up to its timeout. */
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Buckets from 0.5 ms to 10 s for the stages of a message's life, each a share of its delivery latency. */
const STAGE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

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
  const consumerState = new Gauge({
    name: 'strata_consumer_state',
    help: 'Log consumer state (1 for the current one): running, retrying after a failure, stopped on a poison record, closed',
    labelNames: ['consumer', 'state'] as const,
    registers: [registry],
  });
  const consumerStopped = new Gauge({
    name: 'strata_consumer_stopped',
    help: 'A log consumer stopped on a poison record (1), with the record it stopped at; alert on it',
    labelNames: ['consumer', 'topic', 'partition', 'offset'] as const,
    registers: [registry],
  });
  const consumerRetries = new Counter({
    name: 'strata_consumer_retries_total',
    help: 'Failures of a log consumer retried by its supervisor, by kind (transient, unknown)',
    labelNames: ['consumer', 'kind'] as const,
    registers: [registry],
  });
  // A message's life on this server: the send's stages, then the long-polls it wakes.
  const sendStage = new Histogram({
    name: 'strata_send_stage_seconds',
    help: 'Stages of a local send: queue (waiting for the room), decide, append (the log acknowledging it), apply (the rooms projection holding it)',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  const syncAnswerAfterWake = new Histogram({
    name: 'strata_sync_wake_to_answer_seconds',
    help: 'From the notifier waking a /sync long-poll to its answer with news (pacing and computing)',
    buckets: STAGE_BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    observeSendStage: (stage, seconds) => sendStage.observe({ stage }, seconds),
    observeSyncAnswerAfterWake: (seconds) => syncAnswerAfterWake.observe(seconds),
    onConsumerState: (consumer, state, at) => {
      for (const candidate of CONSUMER_STATES) consumerState.set({ consumer, state: candidate }, candidate === state ? 1 : 0);
      if (state === 'stopped') {
        consumerStopped.set({
          consumer, topic: at?.topic ?? '', partition: at === undefined ? '' : String(at.partition), offset: at === undefined ? '' : String(at.offset),
        }, 1);
      }
    },
    onConsumerRetry: (consumer, kind) => consumerRetries.inc({ consumer, kind }),
    observeHttpRequest: (method, route, status, seconds) =>
      httpDuration.observe({ method, route, status: String(status) }, seconds),
    onBatch: (projection, partition, nextOffset, highWatermark) =>
      projectionLag.set({ projection, partition: String(partition) }, Math.max(0, highWatermark - nextOffset)),
    render: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
};
