/**
 * The Synapse of `infra/services/synapse.sh` (the benchmark instance, 127.0.0.1:18008), whose
 * config lists the test bridge's registration with the bridge at STRATA_SYNAPSE_APPSERVICE_PORT
 * (18029). Shared by the appservice interop test and `npm run bench appservice`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { testBridgeRegistration } from '../harness/testBridge.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const SYNAPSE_BRIDGE = {
  url: 'http://127.0.0.1:18008',
  serverName: 'synapse.localhost',
  sharedSecret: process.env.STRATA_SYNAPSE_SHARED_SECRET ?? 'synapse-bench-secret',
  bridgePort: Number(process.env.STRATA_SYNAPSE_APPSERVICE_PORT ?? 18029),
} as const;

const script = (command: 'start' | 'restart' | 'stop' | 'status', timeoutSeconds: number): number => {
  // Its progress goes to stderr, so a benchmark's stdout keeps only its figures.
  const result = spawnSync('bash', ['infra/services/synapse.sh', command], { cwd: repoRoot, stdio: ['ignore', 2, 2], timeout: timeoutSeconds * 1000 });
  if (result.error !== undefined) throw new Error(`infra/services/synapse.sh ${command}: ${result.error.message}`);
  return result.status ?? 1;
};

const must = (command: 'start' | 'restart', timeoutSeconds: number): void => {
  const status = script(command, timeoutSeconds);
  if (status !== 0) throw new Error(`infra/services/synapse.sh ${command} failed (exit ${status}, see its message above)`);
};

/** Whether the running Synapse knows the bridge's as_token (it was started with the registration). */
const knowsBridge = async (): Promise<boolean> => {
  const response = await fetch(`${SYNAPSE_BRIDGE.url}/_matrix/client/v3/account/whoami`, {
    headers: { authorization: `Bearer ${testBridgeRegistration().asToken}` },
  });
  await response.body?.cancel();
  return response.status === 200;
};

/**
 * Starts that Synapse if needed (the first start installs it, which takes minutes); one started
 * before its config listed the bridge is restarted. Answers whether this call started it: the
 * test and the benchmark stop what they started.
 */
export const ensureBridgeSynapse = async (): Promise<boolean> => {
  const wasRunning = script('status', 30) === 0;
  must('start', 900);
  if (!(await knowsBridge())) {
    must('restart', 300);
    if (!(await knowsBridge())) throw new Error('Synapse does not know the test bridge\'s as_token after a restart');
  }
  return !wasRunning;
};

export const stopBridgeSynapse = (): void => void script('stop', 120);
