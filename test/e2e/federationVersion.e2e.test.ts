/**
 * The composition serves GET /_matrix/federation/v1/version (server-server-api.md § Server
 * implementation) on the main listener, unauthenticated, naming Strata and its package version.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from './serverProcess.ts';

let dataDir: string;
let server: RunningServer;
beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'strata-e2e-'));
  server = await startServer({ STRATA_DATA_DIR: dataDir, STRATA_LISTEN: '127.0.0.1:0' });
});
afterAll(async () => {
  if (server.child.exitCode === null) await server.stop('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
});

describe('GET /_matrix/federation/v1/version', () => {
  it('answers without authentication', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const response = await fetch(`${server.url}/_matrix/federation/v1/version`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ server: { name: 'Strata', version } });
  });
});
