/** `--start-synapse`: the baseline comes from infra/services/synapse.sh, which this file only runs. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

const script = fileURLToPath(new URL('../../../infra/services/synapse.sh', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

const runScript = (command: 'start' | 'stop' | 'status', timeoutSeconds: number): number => {
  // Its output goes to stderr, so stdout keeps only the benchmark's figures.
  const result = spawnSync('bash', [script, command], { cwd: repoRoot, stdio: ['ignore', 2, 2], timeout: timeoutSeconds * 1000 });
  if (result.error !== undefined) throw new Error(`synapse.sh ${command}: ${result.error.message}`);
  return result.status ?? 1;
};

/** Starts Synapse if needed; returns whether this call started it (so the caller stops it again). */
export const ensureSynapse = (): boolean => {
  if (runScript('status', 30) === 0) return false;
  // First start installs Synapse from PyPI, which can take minutes.
  if (runScript('start', 900) !== 0) throw new Error('bash infra/services/synapse.sh start failed (see its message above)');
  return true;
};

export const stopSynapse = (): void => void runScript('stop', 120);

interface DatabaseSection {
  readonly name?: unknown;
  readonly args?: Readonly<Record<string, unknown>>;
}

/** Synapse's `database` section in words: which engine, and where. */
export const describeSynapseDatabase = (section: DatabaseSection | undefined): string => {
  const args = section?.args ?? {};
  if (section?.name === 'psycopg2') {
    const name = args.dbname ?? args.database ?? '?';
    return `PostgreSQL (database ${String(name)} on ${String(args.host ?? 'localhost')}:${String(args.port ?? 5432)})`;
  }
  if (section?.name === 'sqlite3') return `SQLite (${String(args.database ?? '?')})`;
  return `unknown (database.name ${JSON.stringify(section?.name)})`;
};

/**
 * The database of the Synapse synapse.sh runs, read from the homeserver.yaml it wrote when it
 * started that Synapse (it rewrites the file on every start), so the figures name what ran.
 */
export const synapseDatabase = (env: Readonly<Record<string, string | undefined>> = process.env): string => {
  const servicesDir = env.STRATA_SERVICES_DIR ?? path.join(repoRoot, '.services');
  const file = path.join(servicesDir, 'synapse', 'conf', 'homeserver.yaml');
  try {
    const config = parseYaml(readFileSync(file, 'utf8')) as { database?: DatabaseSection } | null;
    return describeSynapseDatabase(config?.database);
  } catch (error) {
    return `unknown (cannot read ${file}: ${error instanceof Error ? error.message : String(error)})`;
  }
};
