/**
 * vitest globalSetup of the e2e project: builds the analytics dashboard (gateways/analytics/dashboard)
 * as `npm run build` does, before any server starts, so every e2e server serves the current page.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const build = fileURLToPath(new URL('../../gateways/analytics/dashboard/build.ts', import.meta.url));

export default function setup(): void {
  const result = spawnSync(process.execPath, [build], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`building the analytics dashboard failed:\n${result.stderr || result.error?.message || ''}`);
}
