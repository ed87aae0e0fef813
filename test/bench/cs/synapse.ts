/** `--start-synapse`: the baseline comes from infra/services/synapse.sh, which this file only runs. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
