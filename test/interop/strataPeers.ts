/**
 * Several in-process Strata servers federating with each other on loopback, for Strata ↔ Strata
 * interop tests. Each is the embedded deployment in a data directory of its own, named
 * `127.0.0.1:<TLS port>` like `startStrataBesideSynapse`, with a short federation sender backoff.
 *
 * Unlike the harness's `startTestServer`, a peer can be stopped and started again on the same data
 * (data directory, signing key, self-signed certificate), the same server name and the same ports:
 * `stop()` keeps the data, `start()` brings the server back, `destroy()` stops it and deletes it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { stringify as toYaml } from 'yaml';
import { loadConfig } from '../../infra/config/index.ts';
import { startStrata } from '../../infra/index.ts';
import { freePort, MatrixClient, UserClient } from '../harness/index.ts';

export interface StrataPeer {
  /** `127.0.0.1:<TLS port>`: the server name, which is also where its federation listener is. */
  readonly serverName: string;
  /** `http://127.0.0.1:<client port>`: the client API without TLS (the same port after a restart). */
  readonly url: string;
  /** A client of `url`, for logins and requests without a user. */
  readonly client: MatrixClient;
  readonly dataDir: string;
  readonly running: boolean;
  /** Registers a user through the open registration and answers a client acting as them. */
  register(localpart: string): Promise<UserClient>;
  /** Stops the server and keeps its data. */
  stop(): Promise<void>;
  /** Starts the stopped server again on the same data, server name and ports. */
  start(): Promise<void>;
  /** Stops the server (if running) and deletes its data. */
  destroy(): Promise<void>;
}

export interface StrataPeerOptions {
  /** The federation sender's backoff (federation.sender_backoff_start_ms / _max_ms); short by default. */
  readonly backoffStartMs?: number;
  readonly backoffMaxMs?: number;
}

/** Undo steps of one running instance, newest first; every step runs even when one fails. */
const runStops = async (steps: { name: string; run: () => Promise<void> }[]): Promise<void> => {
  const failures: string[] = [];
  for (const step of steps.splice(0).reverse()) {
    try {
      await step.run();
    } catch (error) {
      failures.push(`${step.name}: ${(error as Error).message}`);
    }
  }
  if (failures.length > 0) throw new Error(`strata peer stop failed: ${failures.join('; ')}`);
};

export const startStrataPeer = async (options: StrataPeerOptions = {}): Promise<StrataPeer> => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'strata-peer-'));
  const tlsPort = await freePort();
  const clientPort = await freePort();
  const serverName = `127.0.0.1:${tlsPort}`;
  const configPath = path.join(dataDir, 'strata.yaml');
  await writeFile(configPath, toYaml({
    rate_limits: { login: false, registration: false, messages: false },
    federation: {
      listen: serverName,
      verify_certificates: false,
      ip_range_whitelist: ['127.0.0.1/32'],
      sender_backoff_start_ms: options.backoffStartMs ?? 200,
      sender_backoff_max_ms: options.backoffMaxMs ?? 1_000,
    },
  }));
  const config = loadConfig({
    STRATA_CONFIG: configPath,
    STRATA_SERVER_NAME: serverName,
    STRATA_LISTEN: `127.0.0.1:${clientPort}`,
    STRATA_DATA_DIR: dataDir,
    STRATA_REGISTRATION: 'open',
    STRATA_REGISTRATION_SHARED_SECRET: randomBytes(16).toString('hex'),
    STRATA_LOG_LEVEL: process.env.STRATA_PEER_LOG_LEVEL ?? 'warn',
  });
  const url = `http://127.0.0.1:${clientPort}`;
  const client = new MatrixClient(url);
  let steps: { name: string; run: () => Promise<void> }[] | undefined;

  const start = async (): Promise<void> => {
    if (steps !== undefined) throw new Error(`${serverName} is already running`);
    const own: { name: string; run: () => Promise<void> }[] = [];
    // Warnings and errors go to stderr, named by server, where vitest shows them beside a failing test.
    const logger = pino({ level: config.logLevel, base: { service: 'strata', server: serverName } }, pino.destination({ dest: 2, sync: true }));
    try {
      await startStrata(config, logger, { onStop: (name, stop) => own.push({ name, run: stop }) });
    } catch (error) {
      await runStops(own).catch(() => undefined);
      throw error;
    }
    steps = own;
  };
  const stop = async (): Promise<void> => {
    const own = steps;
    steps = undefined;
    if (own !== undefined) await runStops(own);
  };

  await start();
  return {
    serverName,
    url,
    client,
    dataDir,
    get running() { return steps !== undefined; },
    register: async (localpart) => new UserClient(client, await client.register(localpart)),
    stop,
    start,
    destroy: async () => {
      try {
        await stop();
      } finally {
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
};
