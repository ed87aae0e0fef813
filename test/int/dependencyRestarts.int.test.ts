/**
 * Strata keeps running while its dependencies restart under a steady send load: PostgreSQL, then
 * the Kafka broker, then ClickHouse are stopped and started again beneath a real server process
 * (infra/main.ts). While each is down /health answers 503 naming it; afterwards Strata has
 * recovered by itself (no restart), /health is 200 again, and every send that was acknowledged is
 * in the room's history exactly once.
 *
 * The services are private instances (their own folder and ports, infra/services/*.sh with port
 * overrides), started and stopped here: the shared ones other test runs use are never touched.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, type UserClient } from '../harness/client.ts';
import { startServer, type RunningServer } from '../e2e/serverProcess.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const sharedKafkaLibs = path.join(repoRoot, '.services/kafka/libs-4.4.0');
type Service = 'postgres' | 'kafka' | 'clickhouse';
/** The /health dependency each service is reported as. */
const DEPENDENCY: Record<Service, string> = { postgres: 'database', kafka: 'log', clickhouse: 'clickhouse' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let servicesDir = '';
let server: RunningServer | undefined;

const servicesEnv = (): Record<string, string> => ({
  STRATA_SERVICES_DIR: servicesDir,
  STRATA_KAFKA_PORT: '29092',
  STRATA_KAFKA_CONTROLLER_PORT: '29093',
  // The jars the shared instance fetched: a private instance needs no download.
  STRATA_KAFKA_LIBS: sharedKafkaLibs,
  STRATA_POSTGRES_PORT: '25432',
  STRATA_CLICKHOUSE_HTTP_PORT: '28123',
  STRATA_CLICKHOUSE_TCP_PORT: '29000',
  STRATA_CLICKHOUSE_INTERSERVER_PORT: '29009',
});

/** Runs infra/services/<script> on the private instances; resolves with its output, rejects on failure. */
const services = (script: string, ...args: string[]): Promise<string> => new Promise((resolve, reject) => {
  const child = spawn('bash', [`infra/services/${script}`, ...args], {
    cwd: repoRoot, env: { ...process.env, ...servicesEnv() }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
  child.stderr.on('data', (chunk: Buffer) => { output += chunk.toString('utf8'); });
  child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`${script} ${args.join(' ')} exited ${code}: ${output}`))));
});

interface HealthSample {
  readonly at: number;
  readonly status: number;
  readonly body: { dependencies?: Record<string, string>; consumers?: Record<string, { state: string }> };
}

const health = async (url: string): Promise<HealthSample> => {
  const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
  return { at: Date.now(), status: response.status, body: await response.json() as HealthSample['body'] };
};

/** Polls /health until `accept` holds; answers that sample (fails after `timeoutMs`). */
const healthUntil = async (url: string, accept: (sample: HealthSample) => boolean, what: string, timeoutMs: number): Promise<HealthSample> => {
  const deadline = Date.now() + timeoutMs;
  let last: HealthSample | undefined;
  while (Date.now() < deadline) {
    last = await health(url).catch(() => undefined) ?? last;
    if (last !== undefined && accept(last)) return last;
    await sleep(200);
  }
  throw new Error(`/health never showed ${what} within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
};

/**
 * Three senders, each sending one message after another until stopped (one stuck in an outage
 * does not stop the others); remembers each acknowledged message.
 */
const sendLoad = (alice: UserClient, roomId: string) => {
  const acknowledged = new Map<string, string>();
  /** Every send, for the log of a failing run: when it started (ms since the load began), how long it took, what came back. */
  const trace: { body: string; at: number; ms: number; status: number | string; eventId?: string | undefined }[] = [];
  const began = Date.now();
  let failures = 0;
  let sent = 0;
  let running = true;
  const loop = (sender: number) => (async () => {
    for (let n = 0; running; n++) {
      const body = `load ${sender}.${n}`;
      const startedAt = Date.now();
      // Each send gives up after a while: one stuck in an outage must not hold the load up.
      const reply = await fetch(`${alice.client.url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/load-${sender}-${n}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${alice.session.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ msgtype: 'm.text', body }),
        signal: AbortSignal.timeout(15_000),
      }).then(async (response) => ({ status: response.status, body: await response.json() as { event_id?: string; errcode?: string } }),
        (error: unknown) => { trace.push({ body, at: startedAt - began, ms: Date.now() - startedAt, status: String(error) }); return undefined; });
      if (reply !== undefined) {
        trace.push({ body, at: startedAt - began, ms: Date.now() - startedAt, status: reply.status === 200 ? 200 : `${reply.status} ${reply.body.errcode}`, eventId: reply.body.event_id });
      }
      sent++;
      if (reply?.status === 200) acknowledged.set(reply.body.event_id!, body);
      else {
        failures++;
        await sleep(100);
      }
      await sleep(20);
    }
  })();
  const loops = [0, 1, 2].map(loop);
  return {
    acknowledged,
    trace,
    began,
    counts: () => ({ sent, failures, acknowledged: acknowledged.size }),
    /** Resolves once a send made after this call was acknowledged. */
    async nextAcknowledged(timeoutMs: number): Promise<void> {
      const before = acknowledged.size;
      const deadline = Date.now() + timeoutMs;
      // Two more: the one in flight may have been sent before the dependency came back.
      while (acknowledged.size < before + 2) {
        if (Date.now() > deadline) throw new Error(`no send acknowledged within ${timeoutMs} ms`);
        await sleep(100);
      }
    },
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
};

/** How often each event of the room is in the analytics read model (ClickHouse), deduplicated as its queries read it. */
const analyticsCounts = async (roomId: string): Promise<Map<string, number>> => {
  const sql = `SELECT event_id, count() AS n FROM analytics_events FINAL WHERE room_id = '${roomId.replace(/[\\']/g, '\\$&')}' `
    + 'GROUP BY event_id FORMAT JSONEachRow';
  const response = await fetch('http://127.0.0.1:28123/?database=strata', { method: 'POST', body: sql });
  if (!response.ok) throw new Error(`ClickHouse answered ${response.status}: ${await response.text()}`);
  const text = await response.text();
  return new Map(text.split('\n').filter((line) => line !== '').map((line) => {
    const row = JSON.parse(line) as { event_id: string; n: number | string };
    return [row.event_id, Number(row.n)];
  }));
};

/** Every event of the room, oldest first, through /messages. */
const history = async (alice: UserClient, roomId: string): Promise<{ eventId: string; body: unknown }[]> => {
  const events: { eventId: string; body: unknown }[] = [];
  let from: string | undefined;
  for (;;) {
    const page = await alice.get(`/rooms/${encodeURIComponent(roomId)}/messages`, { dir: 'b', limit: 1000, ...(from === undefined ? {} : { from }) });
    for (const event of page.chunk as { event_id: string; content: { body?: unknown } }[]) events.push({ eventId: event.event_id, body: event.content.body });
    if (page.end === undefined || (page.chunk as unknown[]).length === 0) return events.reverse();
    from = page.end as string;
  }
};

describe('dependency restarts under load', () => {
  beforeAll(async () => {
    servicesDir = await mkdtemp(path.join(tmpdir(), 'strata-restarts-'));
    // PostgreSQL runs as the postgres OS user, which must be able to enter the folder.
    await chmod(servicesDir, 0o755);
    await services('all.sh', 'start');
    const dataDir = path.join(servicesDir, 'strata');
    const configPath = path.join(servicesDir, 'strata.yaml');
    await writeFile(configPath, 'rate_limits:\n  login: false\n  registration: false\n  messages: false\n');
    server = await startServer({
      STRATA_SERVER_NAME: 'restarts.test',
      STRATA_LISTEN: '127.0.0.1:0',
      STRATA_DATA_DIR: dataDir,
      STRATA_CONFIG: configPath,
      STRATA_REGISTRATION: 'open',
      // startServer waits for the info line that says where it listens.
      STRATA_LOG_LEVEL: 'info',
      STRATA_KAFKA_BROKERS: '127.0.0.1:29092',
      STRATA_POSTGRES_URL: 'postgres://strata:strata@127.0.0.1:25432/strata',
      STRATA_CLICKHOUSE_URL: 'http://127.0.0.1:28123',
      STRATA_CLICKHOUSE_DATABASE: 'strata',
    });
  }, 180_000);

  afterAll(async () => {
    await server?.stop('SIGTERM');
    if (servicesDir !== '') {
      // Synchronously, so the private instances go even when the run is being torn down.
      spawnSync('bash', ['infra/services/all.sh', 'stop'], { cwd: repoRoot, env: { ...process.env, ...servicesEnv() }, stdio: 'ignore' });
      await rm(servicesDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('reports each outage in /health, recovers by itself and keeps every acknowledged send exactly once', async () => {
    const url = server!.url;
    const client = new MatrixClient(url);
    const alice = client.as(await client.register('alice'));
    const roomId = await alice.createRoom({ name: 'under load' });
    expect((await health(url)).status).toBe(200);

    const load = sendLoad(alice, roomId);
    const outages: Record<string, { down: HealthSample; recoveredMs: number; stoppedAt: number }> = {};
    try {
      await load.nextAcknowledged(10_000);
      for (const service of ['postgres', 'kafka', 'clickhouse'] as const) {
        const dependency = DEPENDENCY[service];
        await services(`${service}.sh`, 'stop');
        const stoppedAt = Date.now();
        const down = await healthUntil(url, (sample) => sample.status === 503 && sample.body.dependencies?.[dependency] === 'down',
          `${dependency} down`, 20_000);
        // Down for a while under load: sends meanwhile fail or wait, consumers retry.
        await sleep(3_000);
        await services(`${service}.sh`, 'start');
        await healthUntil(url, (sample) => sample.status === 200, 'recovery (200)', 90_000);
        await load.nextAcknowledged(30_000);
        outages[service] = { down, recoveredMs: Date.now() - stoppedAt, stoppedAt: stoppedAt - load.began };
      }
    } finally {
      await load.stop();
    }
    expect(server!.child.exitCode).toBeNull();
    expect(server!.logs.filter((line) => line.level === 'fatal')).toEqual([]);

    // Every consumer is running again, and the history holds each acknowledged send once.
    const after = await health(url);
    expect(after.status).toBe(200);
    expect(Object.fromEntries(Object.entries(after.body.consumers ?? {}).map(([name, consumer]) => [name, consumer.state]))).toEqual({
      rooms: 'running', push_gateway: 'running', federation_sender: 'running', analytics: 'running', search: 'running',
    });
    // Recovered means read-your-writes again: a send is in the history as soon as it is acknowledged.
    const last = await alice.send(roomId, 'after the outages');
    const newest = await alice.get(`/rooms/${encodeURIComponent(roomId)}/messages`, { dir: 'b', limit: 1 });
    expect((newest.chunk as { event_id: string }[]).map((event) => event.event_id)).toEqual([last]);
    // A send acknowledged while the rooms projection was still catching up (its read-your-writes
    // wait has a deadline; the event is in the log) shows up in the history moments later.
    let events: { eventId: string; body: unknown }[] = [];
    const byId = new Map<string, number>();
    for (const deadline = Date.now() + 15_000; ; await sleep(500)) {
      events = await history(alice, roomId);
      byId.clear();
      for (const event of events) byId.set(event.eventId, (byId.get(event.eventId) ?? 0) + 1);
      if ([...load.acknowledged.keys()].every((eventId) => byId.has(eventId)) || Date.now() > deadline) break;
    }
    if ([...load.acknowledged.keys()].some((eventId) => byId.get(eventId) !== 1)) {
      // For the log of a failing run: what the server warned about, and whether the missing events
      // exist at all (a late projection) or not (lost).
      for (const line of server!.logs.filter((entry) => entry.level === 'warn' || entry.level === 'error')) console.info(JSON.stringify(line));
      console.info(JSON.stringify({ outages: Object.fromEntries(Object.entries(outages).map(([service, outage]) => [service, { stoppedAt: outage.stoppedAt, recoveredMs: outage.recoveredMs }])) }));
      for (const send of load.trace) console.info(JSON.stringify({ ...send, inHistory: send.eventId === undefined ? undefined : byId.get(send.eventId) ?? 0 }));
      for (const [eventId] of [...load.acknowledged].filter(([id]) => byId.get(id) !== 1)) {
        const found = await fetch(`${url}/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/event/${encodeURIComponent(eventId)}`,
          { headers: { authorization: `Bearer ${alice.session.accessToken}` } });
        console.info(JSON.stringify({ missing: eventId, event: found.status, health: (await health(url)).body }));
      }
    }
    const bodies = events.map((event) => event.body).filter((body): body is string => typeof body === 'string' && body.startsWith('load '));
    expect(new Set(bodies).size).toBe(bodies.length);
    const missing = [...load.acknowledged].filter(([eventId]) => byId.get(eventId) !== 1);
    expect(missing).toEqual([]);
    // The analytics projection, which lived through all three outages too, holds each once.
    let analytics = new Map<string, number>();
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(500)) {
      analytics = await analyticsCounts(roomId);
      if ([...load.acknowledged.keys()].every((eventId) => analytics.has(eventId))) break;
    }
    expect([...load.acknowledged.keys()].filter((eventId) => analytics.get(eventId) !== 1)).toEqual([]);
    expect([...analytics.values()].filter((n) => n !== 1)).toEqual([]);
    const counts = load.counts();
    expect(counts.acknowledged).toBeGreaterThan(20);
    // For the log of a failing run: how long each outage took to heal, and what the load saw.
    console.info(JSON.stringify({ counts, outages: Object.fromEntries(Object.entries(outages).map(([service, outage]) => [service, {
      recoveredMs: outage.recoveredMs, health: outage.down.body,
    }])) }));
  }, 240_000);
});
