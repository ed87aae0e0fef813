/**
 * The homeservers a federation run needs, started by the command and stopped by it again:
 * - Strata as child processes (`node infra/main.ts`, as `npm start` runs it), each named by the IP
 *   literal of its own TLS listener, in distributed mode (a fresh Kafka namespace and PostgreSQL
 *   database, dropped at the end) or embedded mode (a temporary data directory);
 * - Synapse through infra/services/synapse.sh as a TLS federation peer (STRATA_SYNAPSE_FEDERATION=1),
 *   one or two (Synapse → Synapse), each with its own ports, database and services folder, chosen
 *   through the script's environment; each folder's `synapse` entry links to the default one, so
 *   all share the one virtualenv the script installs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { stringify as toYaml } from 'yaml';
import { freePort } from '../../harness/ports.ts';
import { request, type HttpOptions } from '../cs/matrixClient.ts';
import type { StrataMode } from './options.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const KAFKA_BROKERS = '127.0.0.1:19092';
const POSTGRES_ADMIN_URL = 'postgres://strata:strata@127.0.0.1:15432/strata';
const SYNAPSE_SECRET = process.env.STRATA_SYNAPSE_SHARED_SECRET ?? 'synapse-bench-secret';

export interface Homeserver {
  readonly label: string;
  /** `127.0.0.1:<TLS port>`: the name other servers federate with, and where they reach it. */
  readonly serverName: string;
  /** Plain-HTTP client API base URL the load generator uses. */
  readonly clientUrl: string;
  readonly sharedSecret: string;
  /** Software and version, as its federation version endpoint says. */
  version: string;
  /** What it stores its data in. */
  readonly database: string;
  /** Strata's Prometheus listener (`http://host:port`), to read its federation sender's counters. */
  readonly metricsUrl?: string;
  /** Strata in distributed mode: its Kafka namespace and database, for benches that write its log or read its tables. */
  readonly kafkaNamespace?: string;
  readonly postgresUrl?: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** GET over HTTPS accepting the peer's self-signed certificate; resolves the status (0: no answer). */
const tlsStatus = (url: string): Promise<number> => new Promise((resolve) => {
  const req = httpsRequest(url, { rejectUnauthorized: false, agent: false, timeout: 3000 }, (res) => {
    res.resume();
    resolve(res.statusCode ?? 0);
  });
  req.on('timeout', () => req.destroy());
  req.on('error', () => resolve(0));
  req.end();
});

/** Fills in `version` from GET /_matrix/federation/v1/version. */
export const readVersion = async (server: Homeserver, http: HttpOptions): Promise<void> => {
  try {
    const body = (await request({ ...http, baseUrl: server.clientUrl }, 'GET', '/_matrix/federation/v1/version', { timeoutMs: 5000 })).server as
      { name?: unknown; version?: unknown } | undefined;
    // Synapse appends the git branch and commit of its working directory, which here is Strata's.
    server.version = `${String(body?.name ?? '?')} ${String(body?.version ?? '?').replace(/ \(b=[^)]*\)$/, '')}`;
  } catch (error) {
    server.version = `unknown (${error instanceof Error ? error.message : String(error)})`;
  }
};

const tail = (file: string): string => {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '(no log)';
  }
};

const withAdmin = async (run: (client: pg.Client) => Promise<unknown>): Promise<void> => {
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    await run(client);
  } finally {
    await client.end();
  }
};

const deleteKafkaNamespace = async (namespace: string): Promise<void> => {
  const admin = new Kafka({ brokers: [KAFKA_BROKERS], clientId: `fedbench-cleanup-${namespace}`, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((id) => id.startsWith(`${namespace}.`));
    if (groups.length > 0) await admin.deleteGroups(groups);
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
};

const exited = (child: ChildProcess, ms: number): Promise<boolean> => new Promise((resolve) => {
  if (child.exitCode !== null || child.signalCode !== null) return resolve(true);
  const timer = setTimeout(() => resolve(false), ms);
  child.once('exit', () => {
    clearTimeout(timer);
    resolve(true);
  });
});

/** A Strata process federating with loopback peers whose certificates are self-signed. */
export const startStrataProcess = async (
  label: string, mode: StrataMode, say: (line: string) => void,
  /** Keys of its YAML config file over the default (login and registration not rate-limited). */
  file: Readonly<Record<string, unknown>> = {},
): Promise<Homeserver> => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'strata-fedbench-'));
  const suffix = randomBytes(4).toString('hex');
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(dataDir, { recursive: true, force: true })];
  const cleanup = async () => {
    for (const step of cleanups.splice(0).reverse()) await step().catch((error: unknown) => say(`${label}: cleanup: ${String(error)}`));
  };
  try {
    const [httpPort, tlsPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
    const sharedSecret = randomBytes(12).toString('hex');
    writeFileSync(path.join(dataDir, 'strata.yaml'), toYaml({ rate_limits: { login: false, registration: false }, ...file }));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      STRATA_CONFIG: path.join(dataDir, 'strata.yaml'),
      STRATA_SERVER_NAME: `127.0.0.1:${tlsPort}`,
      STRATA_LISTEN: `127.0.0.1:${httpPort}`,
      STRATA_FEDERATION_LISTEN: `127.0.0.1:${tlsPort}`,
      STRATA_DATA_DIR: dataDir,
      STRATA_REGISTRATION_SHARED_SECRET: sharedSecret,
      STRATA_FEDERATION_VERIFY_CERTIFICATES: 'false',
      STRATA_FEDERATION_IP_RANGE_WHITELIST: '127.0.0.1/32',
      STRATA_LOG_LEVEL: 'warn',
      STRATA_METRICS_LISTEN: `127.0.0.1:${metricsPort}`,
    };
    let database = 'embedded log + PGlite';
    let distributed: { kafkaNamespace: string; postgresUrl: string } | undefined;
    if (mode === 'distributed') {
      const name = `strata_fedbench_${suffix}`;
      await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
      cleanups.push(() => withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
      cleanups.push(() => deleteKafkaNamespace(`fedbench-${suffix}`));
      Object.assign(env, {
        STRATA_KAFKA_BROKERS: KAFKA_BROKERS,
        STRATA_KAFKA_NAMESPACE: `fedbench-${suffix}`,
        STRATA_POSTGRES_URL: POSTGRES_ADMIN_URL.replace(/\/strata$/, `/${name}`),
      });
      database = `Kafka + PostgreSQL (database ${name})`;
      distributed = { kafkaNamespace: env.STRATA_KAFKA_NAMESPACE!, postgresUrl: env.STRATA_POSTGRES_URL! };
    }
    const log = path.join(dataDir, 'strata.log');
    const child = spawn('sh', ['infra/node/run.sh', 'infra/main.ts'], { cwd: repoRoot, env, stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
    // run.sh execs node, so this pid is the server's.
    cleanups.push(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      if (!(await exited(child, 30_000))) child.kill('SIGKILL');
    });
    const clientUrl = `http://127.0.0.1:${httpPort}`;
    const deadline = Date.now() + 120_000;
    say(`${label}: starting Strata (${mode}) as 127.0.0.1:${tlsPort}, client API ${clientUrl}`);
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${label} exited during start-up (code ${child.exitCode}): ${tail(log)}`);
      const client = await fetch(`${clientUrl}/_matrix/client/versions`).then((r) => r.status, () => 0);
      if (client === 200 && (await tlsStatus(`https://127.0.0.1:${tlsPort}/_matrix/key/v2/server`)) === 200) break;
      if (Date.now() > deadline) throw new Error(`${label} not ready within 120 s: ${tail(log)}`);
      await sleep(300);
    }
    return {
      label, serverName: `127.0.0.1:${tlsPort}`, clientUrl, sharedSecret, version: 'Strata', database,
      metricsUrl: `http://127.0.0.1:${metricsPort}`,
      ...distributed,
      stop: async () => {
        // The log goes with the data directory; keep its errors visible.
        const errors = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => /"level":(50|60)/.test(l)) : [];
        if (errors.length > 0) say(`${label}: ${errors.length} error lines in its log, the last: ${errors.slice(-3).join(' | ')}`);
        await cleanup();
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
};

export interface SynapsePeerSpec {
  readonly label: string;
  readonly tlsPort: number;
  readonly clientPort: number;
  readonly database: string;
  /** Its own services folder (synapse.sh keys its files by folder). */
  readonly servicesDir: string;
}

/**
 * Both peers get folders, ports and databases of their own rather than the interop tests' peer
 * (127.0.0.1:18448), which those tests start and stop whenever they run.
 */
export const SYNAPSE_PEERS: readonly SynapsePeerSpec[] = [1, 2].map((n) => ({
  label: n === 1 ? 'Synapse' : `Synapse ${n}`,
  tlsPort: 18449 + n,
  clientPort: 18010 + n,
  database: `synapse_fedbench${n}`,
  servicesDir: path.join(repoRoot, '.services', `bench-federation-synapse${n}`),
}));

export const synapseScript = (spec: SynapsePeerSpec, command: 'start' | 'stop' | 'status', timeoutSeconds: number): number => {
  const defaultServices = process.env.STRATA_SERVICES_DIR ?? path.join(repoRoot, '.services');
  mkdirSync(spec.servicesDir, { recursive: true });
  const venvHome = path.join(spec.servicesDir, 'synapse');
  if (!existsSync(venvHome)) symlinkSync(path.join(defaultServices, 'synapse'), venvHome);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STRATA_SYNAPSE_FEDERATION: '1',
    STRATA_SYNAPSE_FEDERATION_PORT: String(spec.tlsPort),
    STRATA_SYNAPSE_FEDERATION_CLIENT_PORT: String(spec.clientPort),
    STRATA_SYNAPSE_DATABASE: spec.database,
    STRATA_SERVICES_DIR: spec.servicesDir,
  };
  // Its output goes to stderr, so stdout keeps only the figures.
  const result = spawnSync('bash', ['infra/services/synapse.sh', command], { cwd: repoRoot, env, stdio: ['ignore', 2, 2], timeout: timeoutSeconds * 1000 });
  if (result.error !== undefined) throw new Error(`synapse.sh ${command} (${spec.label}): ${result.error.message}`);
  return result.status ?? 1;
};

/** Starts the peer unless it already answers; a peer this call started is stopped by `stop()`. */
export const startSynapse = async (spec: SynapsePeerSpec, keep: boolean, say: (line: string) => void): Promise<Homeserver> => {
  const wasRunning = synapseScript(spec, 'status', 30) === 0;
  say(`${spec.label}: ${wasRunning ? 'already running' : 'starting'} as 127.0.0.1:${spec.tlsPort} (database ${spec.database})`);
  // The first start installs Synapse from PyPI, which can take minutes.
  if (!wasRunning && synapseScript(spec, 'start', 900) !== 0) throw new Error(`infra/services/synapse.sh start failed for ${spec.label} (see above)`);
  return {
    label: spec.label, serverName: `127.0.0.1:${spec.tlsPort}`, clientUrl: `http://127.0.0.1:${spec.clientPort}`, sharedSecret: SYNAPSE_SECRET,
    version: 'Synapse', database: `PostgreSQL (database ${spec.database} on 127.0.0.1:15432)`,
    stop: async () => {
      if (wasRunning || keep) return;
      say(`${spec.label}: stopping`);
      synapseScript(spec, 'stop', 120);
    },
  };
};
