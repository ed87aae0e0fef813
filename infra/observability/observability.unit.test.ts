import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
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

/** Runs `body` in a new Node process that has `createLogger` in scope; resolves with its stdout and exit code. */
const runLogging = (body: string): Promise<{ stdout: string; code: number | null }> => {
  const logger = fileURLToPath(new URL('./logger.ts', import.meta.url));
  const child = spawn(process.execPath, ['--input-type=module', '-e', `import { createLogger } from ${JSON.stringify(logger)};\n${body}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, code }));
  });
};

describe('createLogger on stdout', () => {
  it('writes off the event loop yet loses no line when the process exits at once, nor splits one between loggers', async () => {
    const { stdout, code } = await runLogging(`
      const a = createLogger({ level: 'info' });
      const b = createLogger({ level: 'info' }).child({ request_id: 'r' });
      const padding = 'x'.repeat(300);
      for (let i = 0; i < 3000; i++) (i % 2 === 0 ? a : b).info({ i, padding }, 'line');
      process.exit(3);
    `);
    expect(code).toBe(3);
    const lines = stdout.split('\n').filter((line) => line !== '');
    expect(lines).toHaveLength(3000);
    expect(lines.map((line) => (JSON.parse(line) as { i: number }).i)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
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
