/**
 * vitest globalSetup for the int and e2e projects: makes sure Kafka, PostgreSQL and ClickHouse run
 * (through infra/services/all.sh) before any test starts, and fails the whole run with the
 * scripts' one-line errors when one cannot start — tests are never skipped for a missing service.
 *
 * A service whose STRATA_TEST_* variable (see env.ts) names another address is left alone.
 * Services stay up after the run: starting them is the slow part, several test runs may share them
 * at once, and `start` on a running service is a quick check. `.ci/run` stops them at its end;
 * by hand: `bash infra/services/all.sh stop`.
 *
 * The resolved addresses reach test files both ways: `inject('strataTestServices')` and the
 * STRATA_TEST_* environment variables, which vitest hands to its workers (STRATA_TEST_SERVICES
 * lists the managed ones).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { testServices } from './env.ts';

export type ManagedService = 'kafka' | 'postgres' | 'clickhouse';

export interface StrataTestServices {
  kafkaBrokers: string[];
  postgresUrl: string;
  clickhouseUrl: string;
  /** The services this run made sure of through infra/services (the others were configured elsewhere). */
  managed: ManagedService[];
}

declare module 'vitest' {
  export interface ProvidedContext {
    strataTestServices: StrataTestServices;
  }
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const allScript = 'infra/services/all.sh';

/** Defaults of env.ts: a variable set to anything else points at a service we must not manage. */
const pointsElsewhere: Record<ManagedService, () => boolean> = {
  kafka: () => (process.env.STRATA_TEST_KAFKA_BROKERS ?? '127.0.0.1:19092') !== '127.0.0.1:19092',
  postgres: () =>
    (process.env.STRATA_TEST_POSTGRES_URL ?? 'postgres://strata:strata@127.0.0.1:15432/strata') !==
    'postgres://strata:strata@127.0.0.1:15432/strata',
  clickhouse: () => (process.env.STRATA_TEST_CLICKHOUSE_URL ?? 'http://127.0.0.1:18123') !== 'http://127.0.0.1:18123',
};

const runAll = (command: 'start' | 'stop' | 'status', services: ManagedService[], quiet = false) =>
  spawnSync('bash', [allScript, command, ...services], {
    cwd: repoRoot,
    stdio: ['ignore', quiet ? 'pipe' : 'inherit', 'pipe'],
    encoding: 'utf8',
  });

/** Services of `services` that already answer (status exits 0 for each). */
const alreadyRunning = (services: ManagedService[]): ManagedService[] =>
  services.filter((service) => runAll('status', [service], true).status === 0);

export default function setup(project: TestProject): void {
  const managed = (Object.keys(pointsElsewhere) as ManagedService[]).filter((s) => !pointsElsewhere[s]());
  const running = alreadyRunning(managed);
  const toStart = managed.filter((s) => !running.includes(s));

  if (toStart.length > 0) {
    const result = runAll('start', toStart);
    if (result.status !== 0) {
      const detail = (result.stderr ?? '').trim() || (result.error?.message ?? `exit status ${result.status}`);
      runAll('stop', toStart, true); // leave nothing half-started behind
      throw new Error(`test services failed to start (bash ${allScript} start ${toStart.join(' ')}):\n${detail}`);
    }
  }

  // Workers are forked after global setup and inherit this process's environment.
  process.env.STRATA_TEST_KAFKA_BROKERS = testServices.kafkaBrokers.join(',');
  process.env.STRATA_TEST_POSTGRES_URL = testServices.postgresUrl;
  process.env.STRATA_TEST_CLICKHOUSE_URL = testServices.clickhouseUrl;
  process.env.STRATA_TEST_SERVICES = managed.join(',');
  project.provide('strataTestServices', { ...testServices, kafkaBrokers: [...testServices.kafkaBrokers], managed });
}
