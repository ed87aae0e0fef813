import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogEntry } from '../../domain/index.ts';
import { createEmbeddedLog } from '../../infra/embedded/index.ts';
import { SERVER_TOPIC } from '../../infra/server/index.ts';
import { closedPort, runUntilExit, startServer, type ExitResult, type RunningServer } from './serverProcess.ts';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'strata-e2e-'));
});
afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const embeddedEnv = () => ({ STRATA_DATA_DIR: dataDir, STRATA_LISTEN: '127.0.0.1:0' });
const METRICS_TOKEN = 'e2e-metrics-token';

const expectOneStderrLine = (result: ExitResult): string => {
  expect(result.code).not.toBe(0);
  expect(result.code).not.toBeNull();
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  expect(lines).toHaveLength(1);
  expect(result.stderr).not.toMatch(/\s+at .+:\d+:\d+/);
  expect(result.logs.some((line) => line.level === 'fatal' && line.msg === 'start-up failed')).toBe(true);
  return lines[0] ?? '';
};

describe('the server process in embedded mode', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ ...embeddedEnv(), STRATA_METRICS_LISTEN: '127.0.0.1:0', STRATA_METRICS_TOKEN: METRICS_TOKEN });
  });
  afterAll(async () => {
    if (server.child.exitCode === null) await server.stop('SIGKILL');
  });
  const metricsUrl = async (): Promise<string> => {
    // Logged just after the client listener's line, which is what startServer waits for.
    await expect.poll(() => server.logs.some((l) => typeof l.metrics_listen === 'string')).toBe(true);
    return `http://${String(server.logs.find((l) => typeof l.metrics_listen === 'string')?.metrics_listen)}/metrics`;
  };

  it('runs on a V8 thread pool one thread smaller than the machine, 1 to 4 (infra/node/start.sh)', async () => {
    const argv = (await readFile(`/proc/${server.child.pid}/cmdline`, 'utf8')).split('\0');
    expect(argv).toContain(`--v8-pool-size=${Math.min(4, Math.max(1, availableParallelism() - 1))}`);
    expect(argv.at(-2)).toMatch(/infra\/main\.ts$/);
  });

  it('logs which mode runs', () => {
    const mode = server.logs.find((line) => line.mode !== undefined);
    expect(mode).toMatchObject({ mode: 'embedded', log: 'embedded', database: 'pglite', clickhouse: false });
    expect(mode?.msg).toContain('running in embedded mode');
  });

  it('serves /_matrix/client/versions with CORS headers', async () => {
    const response = await fetch(`${server.url}/_matrix/client/versions`);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(await response.json()).toEqual({
      versions: ['r0.0.1', 'r0.1.0', 'r0.2.0', 'r0.3.0', 'r0.4.0', 'r0.5.0', 'r0.6.0', 'r0.6.1',
        'v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11'],
      unstable_features: { 'org.matrix.simplified_msc3575': true },
    });
  });

  it('reports every dependency on /health', async () => {
    const response = await fetch(`${server.url}/health`);
    expect(response.status).toBe(200);
    const running = { state: 'running', retries: 0, since: expect.any(String) as unknown };
    expect(await response.json()).toEqual({
      status: 'ok',
      dependencies: { log: 'up', database: 'up', clickhouse: 'not configured' },
      consumers: { rooms: running, push_gateway: running, federation_sender: running, search: running },
    });
  });

  it('answers a CORS preflight on any path with 204', async () => {
    const response = await fetch(`${server.url}/_matrix/client/v3/login`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.element.io', 'Access-Control-Request-Method': 'POST' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST, PUT, DELETE, OPTIONS');
    expect(response.headers.get('access-control-allow-headers')).toBe('X-Requested-With, Content-Type, Authorization');
  });

  it('answers unknown endpoints with 404 M_UNRECOGNIZED and a wrong method with 405', async () => {
    const unknown = await fetch(`${server.url}/_matrix/client/v3/no/such/endpoint`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
    const wrongMethod = await fetch(`${server.url}/_matrix/client/versions`, { method: 'POST', body: '{}' });
    expect(wrongMethod.status).toBe(405);
    expect(await wrongMethod.json()).toMatchObject({ errcode: 'M_UNRECOGNIZED' });
  });

  it('logs each request with the id it returns', async () => {
    const response = await fetch(`${server.url}/_matrix/client/versions`, { headers: { 'X-Request-Id': 'e2e-req-1' } });
    expect(response.headers.get('x-request-id')).toBe('e2e-req-1');
    await expect.poll(() => server.logs.find((line) => line.request_id === 'e2e-req-1')).toMatchObject({
      msg: 'request', route: '/_matrix/client/versions', status: 200,
    });
  });

  it('exposes the request histogram and process metrics on the metrics listener only, to the token', async () => {
    await fetch(`${server.url}/_matrix/client/versions`);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    const url = await metricsUrl();
    expect(url).not.toBe(`${server.url}/metrics`);
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect((await fetch(url, { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    const response = await fetch(url, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/strata_http_request_duration_seconds_count\{method="GET",route="\/_matrix\/client\/versions",status="200"\} \d+/);
    expect(text).toContain('route="(unmatched)",status="404"');
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('exits 0 on SIGTERM after stopping its subsystems', async () => {
    const result = await server.stop('SIGTERM');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const stopped = result.logs.filter((line) => typeof line.subsystem === 'string' && String(line.msg).startsWith('stopped'))
      .map((line) => line.subsystem);
    // Reverse order of start: nothing is stopped while something started after it still runs.
    expect(stopped).toEqual([
      'metrics server', 'websocket gateway', 'http server', 'push gateway client', 'push sender', 'media sweep', 'appservice sender', 'application service client',
      'identity servers', 'typing timeouts', 'federation sender', 'erasure sweepers', 'search projection', 'rooms projection',
      'federation client', 'database', 'room log',
    ]);
  });
});

describe('restarting on the same data directory', () => {
  it('keeps the embedded log and database', async () => {
    const again = await startServer(embeddedEnv());
    expect((await fetch(`${again.url}/health`)).status).toBe(200);
    expect((await again.stop('SIGINT')).code).toBe(0);

    const log = await createEmbeddedLog({ dir: path.join(dataDir, 'log') });
    try {
      const records = await log.read(SERVER_TOPIC, 0, 0, 10);
      expect(records.map((entry: LogEntry) => (entry.value as { type: string }).type)).toEqual(['server.started', 'server.started']);
    } finally {
      await log.close();
    }

    // The database remembers the server name it was created with.
    const renamed = await runUntilExit({ ...embeddedEnv(), STRATA_SERVER_NAME: 'other.example.org' });
    expect(expectOneStderrLine(renamed)).toBe(
      `strata: server_name is "other.example.org" but the data in ${path.join(dataDir, 'pglite')} belongs to "localhost"; a server name cannot change`,
    );
  });
});

describe('start-up failures print one line and exit non-zero', () => {
  it('bad config in the environment', async () => {
    const result = await runUntilExit({ ...embeddedEnv(), STRATA_REGISTRATION: 'sometimes' });
    expect(expectOneStderrLine(result)).toBe(
      'strata: invalid config: registration (from STRATA_REGISTRATION): Expected "disabled" | "open"',
    );
  });

  it('bad config in the YAML file', async () => {
    const file = path.join(dataDir, 'bad.yaml');
    await writeFile(file, 'server_name: example.org\nrate_limits:\n  login: { per_second: fast, burst: 3 }\n');
    const line = expectOneStderrLine(await runUntilExit({ ...embeddedEnv(), STRATA_CONFIG: file }));
    expect(line).toContain(`rate_limits.login`);
    expect(line).toContain(`(from ${file})`);
  });

  it('the listen port already in use', async () => {
    const squatter = createServer().listen(0, '127.0.0.1');
    await once(squatter, 'listening');
    const { port } = squatter.address() as { port: number };
    try {
      const result = await runUntilExit({ ...embeddedEnv(), STRATA_LISTEN: `127.0.0.1:${port}` });
      expect(expectOneStderrLine(result)).toBe(`strata: cannot listen on 127.0.0.1:${port}: the address is already in use`);
    } finally {
      squatter.close();
    }
  });

  it('a V8 thread pool size that is not a number, before Node starts', async () => {
    const result = await runUntilExit({ ...embeddedEnv(), STRATA_V8_POOL_SIZE: 'many' });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("strata: STRATA_V8_POOL_SIZE must be a whole number, got 'many'\n");
    expect(result.logs).toEqual([]);
  });

  it('an unreachable PostgreSQL, without leaking its password', async () => {
    const port = await closedPort();
    const result = await runUntilExit({ ...embeddedEnv(), STRATA_POSTGRES_URL: `postgres://strata:s3cret@127.0.0.1:${port}/strata` });
    const line = expectOneStderrLine(result);
    expect(line).toContain(`PostgreSQL at 127.0.0.1:${port}`);
    expect(line).not.toContain('s3cret');
    expect(JSON.stringify(result.logs)).not.toContain('s3cret');
  });
});
