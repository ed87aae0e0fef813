import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, createMetrics } from './index.ts';

const collect = () => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line));
      callback();
    },
  });
  return { lines, stream };
};

describe('createLogger', () => {
  it('writes JSON lines at or above the configured level', async () => {
    const { lines, stream } = collect();
    const logger = createLogger({ level: 'warn', destination: stream });
    logger.info('hidden');
    logger.child({ request_id: 'r1' }).warn({ status: 500 }, 'shown');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', msg: 'shown', request_id: 'r1', status: 500, service: 'strata' });
    expect(typeof lines[0]?.time).toBe('string');
  });
});

describe('createMetrics', () => {
  it('exposes default process metrics and the request histogram by route template', async () => {
    const metrics = createMetrics();
    metrics.observeHttpRequest('GET', '/_matrix/client/versions', 200, 0.003);
    const { contentType, body } = await metrics.render();
    expect(contentType).toContain('text/plain');
    expect(body).toContain('process_cpu_user_seconds_total');
    expect(body).toMatch(
      /strata_http_request_duration_seconds_count\{method="GET",route="\/_matrix\/client\/versions",status="200"\} 1/,
    );
  });

  it('sets projection lag per projection and partition, never below zero', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.onBatch('timeline', 3, 90, 100);
    metrics.onBatch('timeline', 4, 12, 10);
    const { body } = await metrics.render();
    expect(body).toContain('strata_projection_lag{projection="timeline",partition="3"} 10');
    expect(body).toContain('strata_projection_lag{projection="timeline",partition="4"} 0');
  });

  it('reports consumer states, retries and the record a consumer stopped at', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.onConsumerState('rooms', 'running', undefined);
    metrics.onConsumerRetry('rooms', 'transient');
    metrics.onConsumerState('rooms', 'retrying', undefined);
    metrics.onConsumerState('rooms', 'stopped', { topic: 'strata.room.events', partition: 3, offset: 42 });
    const { body } = await metrics.render();
    expect(body).toContain('strata_consumer_state{consumer="rooms",state="stopped"} 1');
    expect(body).toContain('strata_consumer_state{consumer="rooms",state="running"} 0');
    expect(body).toContain('strata_consumer_retries_total{consumer="rooms",kind="transient"} 1');
    expect(body).toContain('strata_consumer_stopped{consumer="rooms",topic="strata.room.events",partition="3",offset="42"} 1');
  });

  it('keeps registries of two instances apart', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.observeHttpRequest('GET', '/x', 200, 0.1);
    expect((await b.render()).body).not.toContain('route="/x"');
  });
});
