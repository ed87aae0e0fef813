/**
 * Runs the whole of Strata in-process (infra/strata.ts, as infra/main.ts composes it) for e2e tests,
 * on 127.0.0.1 and a free port, in one of its two deployments:
 * - embedded: the embedded log and PGlite in a fresh temporary data directory;
 * - distributed: the test Kafka under a fresh random namespace (so runs never see each other's
 *   topics or consumer groups) and a fresh PostgreSQL database created for the run.
 * Registration is open and a shared secret is set; login and registration are not rate-limited
 * (a suite registers many users quickly). `stop()` undoes everything, data included.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { stringify as toYaml } from 'yaml';
import { loadConfig, type Env } from '../../infra/config/index.ts';
import type { PresenceTimers } from '../../domain/app/userData/index.ts';
import type { EduReceiver } from '../../domain/app/federation/edus/index.ts';
import type { FederationOutbox } from '../../domain/ports/index.ts';
import { startStrata, type StrataOptions } from '../../infra/index.ts';
import type { FetchFederationJson } from '../../infra/federation/keys/index.ts';
import { createRunDatabase, deleteKafkaNamespace, runServices, type RunDatabase } from './services.ts';

export type ServerMode = 'embedded' | 'distributed';

export interface TestServerOptions {
  readonly mode: ServerMode;
  /** STRATA_* variables over the harness's own (e.g. `{ STRATA_SERVER_NAME: 'other.test' }`). */
  readonly config?: Partial<Env>;
  /**
   * Keys of the YAML config file (STRATA_CONFIG), over the harness's own; for settings with no
   * variable, e.g. `{ rate_limits: { messages: { per_second: 1, burst: 3 } } }`.
   */
  readonly file?: Readonly<Record<string, unknown>>;
  /** Presence idle/offline timers (shortened to watch them fire); Synapse's by default. */
  readonly presenceTimers?: PresenceTimers;
  /** How the server GETs a path on another server (infra/strata.ts `federationFetch`). */
  readonly federationFetch?: FetchFederationJson;
  /** Where EDUs for other servers go (infra/strata.ts `federationOutbox`), e.g. a recording one. */
  readonly federationOutbox?: FederationOutbox;
  /** Bounds of the user event WebSockets (infra/strata.ts `eventSockets`), e.g. a short heartbeat. */
  readonly eventSockets?: StrataOptions['eventSockets'];
  /** Bounds of the analytics counter WebSockets (infra/strata.ts `analyticsSockets`). */
  readonly analyticsSockets?: StrataOptions['analyticsSockets'];
}

export interface TestServer {
  readonly mode: ServerMode;
  /** e.g. `http://127.0.0.1:41234`, no trailing slash. */
  readonly url: string;
  readonly serverName: string;
  /** The server's data directory (the embedded log and PGlite in embedded mode, media in both). */
  readonly dataDir: string;
  /** The shared secret of `/_synapse/admin/v1/register`. */
  readonly registrationSharedSecret: string;
  /** The server's inbound EDU receiver, as the federation `/send` route calls it. */
  readonly edus: EduReceiver;
  /** Every `METHOD path-template` the server's HTTP listener serves. */
  readonly routes: readonly string[];
  /** Stops the server and deletes its data (temporary directory, database, Kafka topics). */
  stop(): Promise<void>;
}

const SERVER_NAME = 'strata.test';

/** Undo steps, run newest first; every step runs even when an earlier one fails. */
const createCleanup = () => {
  const steps: { name: string; run: () => Promise<void> }[] = [];
  return {
    add: (name: string, run: () => Promise<void>): void => { steps.push({ name, run }); },
    run: async (): Promise<void> => {
      const failures: string[] = [];
      for (const step of steps.splice(0).reverse()) {
        try {
          await step.run();
        } catch (error) {
          failures.push(`${step.name}: ${(error as Error).message}`);
        }
      }
      if (failures.length > 0) throw new Error(`test server cleanup failed: ${failures.join('; ')}`);
    },
  };
};

export const startTestServer = async (options: TestServerOptions): Promise<TestServer> => {
  const cleanup = createCleanup();
  const registrationSharedSecret = randomBytes(16).toString('hex');
  try {
    const dataDir = await mkdtemp(path.join(tmpdir(), `strata-e2e-${options.mode}-`));
    cleanup.add('data directory', () => rm(dataDir, { recursive: true, force: true }));

    const env: Record<string, string | undefined> = {
      STRATA_SERVER_NAME: SERVER_NAME,
      STRATA_LISTEN: '127.0.0.1:0',
      STRATA_DATA_DIR: dataDir,
      STRATA_REGISTRATION: 'open',
      STRATA_REGISTRATION_SHARED_SECRET: registrationSharedSecret,
      STRATA_LOG_LEVEL: 'warn',
    };
    if (options.mode === 'distributed') {
      const services = runServices();
      const suffix = randomBytes(5).toString('hex');
      const namespace = `e2e-${suffix}`;
      cleanup.add('kafka namespace', () => deleteKafkaNamespace(services.kafkaBrokers, namespace));
      const database: RunDatabase = await createRunDatabase(services.postgresUrl, `strata_e2e_${suffix}`);
      cleanup.add('database', () => database.drop());
      env.STRATA_KAFKA_BROKERS = services.kafkaBrokers.join(',');
      env.STRATA_KAFKA_NAMESPACE = namespace;
      env.STRATA_POSTGRES_URL = database.url;
    }
    const file = { rate_limits: { login: false, registration: false, threepid_validation: false }, ...options.file };
    const configPath = path.join(dataDir, 'strata.yaml');
    await writeFile(configPath, toYaml(file));
    env.STRATA_CONFIG = configPath;

    const config = loadConfig({ ...env, ...options.config });
    // Warnings and errors go to stderr, where vitest shows them beside a failing test.
    const logger = pino({ level: config.logLevel, base: { service: 'strata', mode: options.mode } }, pino.destination({ dest: 2, sync: true }));
    const started = await startStrata(config, logger, {
      onStop: (name, stop) => cleanup.add(name, stop),
    }, {
      ...(options.presenceTimers === undefined ? {} : { presenceTimers: options.presenceTimers }),
      ...(options.federationFetch === undefined ? {} : { federationFetch: options.federationFetch }),
      ...(options.federationOutbox === undefined ? {} : { federationOutbox: options.federationOutbox }),
      ...(options.eventSockets === undefined ? {} : { eventSockets: options.eventSockets }),
      ...(options.analyticsSockets === undefined ? {} : { analyticsSockets: options.analyticsSockets }),
    });
    return {
      mode: options.mode,
      url: `http://${started.address}`,
      serverName: config.serverName,
      dataDir,
      registrationSharedSecret: config.registrationSharedSecret ?? registrationSharedSecret,
      edus: started.edus,
      routes: started.routes,
      stop: () => cleanup.run(),
    };
  } catch (error) {
    await cleanup.run().catch(() => undefined);
    throw error;
  }
};
