/**
 * Synapse as a federation peer for interop tests: `STRATA_SYNAPSE_FEDERATION=1
 * infra/services/synapse.sh start` (its own folder, database `synapse_fed`, a TLS listener whose
 * port is in its IP-literal server name). A peer this helper started is stopped by `stop()`; one
 * that was already running is left running, like the other shared services.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TLSSocket } from 'node:tls';
import type { X509Certificate } from 'node:crypto';
import { MatrixClient, UserClient, freePort, startTestServer, type TestServer } from '../harness/index.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const script = 'infra/services/synapse.sh';

export interface SynapsePeer {
  /** `127.0.0.1:<TLS port>`: the peer's server name, which is also where its TLS listener is. */
  readonly serverName: string;
  /** `https://127.0.0.1:<TLS port>` (client + federation API). */
  readonly federationUrl: string;
  /** `http://127.0.0.1:<port>` (client + federation API without TLS). */
  readonly clientUrl: string;
  /** The peer's self-signed certificate (PEM), to trust exactly it. */
  readonly certificate: string;
  readonly sharedSecret: string;
  stop(): Promise<void>;
}

const peerEnv = (): NodeJS.ProcessEnv => ({ ...process.env, STRATA_SYNAPSE_FEDERATION: '1' });

const run = (command: 'start' | 'stop' | 'status', timeoutMs: number): Promise<{ code: number; output: string }> =>
  new Promise((resolve) => {
    execFile('bash', [script, command], { cwd: repoRoot, env: peerEnv(), timeout: timeoutMs }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}`.trim() });
    });
  });

export const startSynapsePeer = async (timeoutMs = 170_000): Promise<SynapsePeer> => {
  const wasRunning = (await run('status', 30_000)).code === 0;
  const started = await run('start', timeoutMs);
  if (started.code !== 0) throw new Error(`synapse.sh start (STRATA_SYNAPSE_FEDERATION=1) failed: ${started.output}`);
  const tlsPort = process.env.STRATA_SYNAPSE_FEDERATION_PORT ?? '18448';
  const clientPort = process.env.STRATA_SYNAPSE_FEDERATION_CLIENT_PORT ?? '18009';
  const servicesDir = process.env.STRATA_SERVICES_DIR ?? path.join(repoRoot, '.services');
  return {
    serverName: `127.0.0.1:${tlsPort}`,
    federationUrl: `https://127.0.0.1:${tlsPort}`,
    clientUrl: `http://127.0.0.1:${clientPort}`,
    certificate: await readFile(path.join(servicesDir, 'synapse-federation', 'conf', 'tls.crt'), 'utf8'),
    sharedSecret: process.env.STRATA_SYNAPSE_SHARED_SECRET ?? 'synapse-bench-secret',
    stop: async () => {
      if (wasRunning) return;
      const stopped = await run('stop', 90_000);
      if (stopped.code !== 0) throw new Error(`synapse.sh stop (STRATA_SYNAPSE_FEDERATION=1) failed: ${stopped.output}`);
    },
  };
};

export interface TlsJsonReply {
  readonly status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: Record<string, any>;
  readonly certificate: X509Certificate | undefined;
}

/**
 * A GET (or, given a body, a POST of JSON) over HTTPS on a fresh connection, trusting exactly `ca`
 * (the peer's self-signed certificate).
 */
export const tlsJson = (url: string, ca: string, json?: unknown): Promise<TlsJsonReply> =>
  new Promise((resolve, reject) => {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const method = body === undefined ? 'GET' : 'POST';
    const headers = body === undefined ? {} : { 'content-type': 'application/json' };
    const req = request(url, { ca, agent: false, method, headers }, (res) => {
      const certificate = (res.socket as TLSSocket).getPeerX509Certificate();
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; }).on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown>, certificate });
        } catch {
          reject(new Error(`${method} ${url} → ${res.statusCode} with a body that is not JSON: ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('error', reject);
    req.end(body);
  });

/**
 * An embedded Strata the Synapse peer can federate with: named by its TLS listener's IP literal,
 * and reaching Synapse, whose certificate is self-signed and which lives on loopback (refused by the
 * default address policy).
 */
export const startStrataBesideSynapse = async (): Promise<TestServer> => {
  const port = await freePort();
  return startTestServer({
    mode: 'embedded',
    config: { STRATA_SERVER_NAME: `127.0.0.1:${port}` },
    file: { federation: { listen: `127.0.0.1:${port}`, verify_certificates: false, ip_range_whitelist: ['127.0.0.1/32'] } },
  });
};

/** Synapse and a Strata beside it, with one fresh user on each: Alice on Strata, Bob on Synapse. */
export interface SynapseAndStrata {
  readonly peer: SynapsePeer;
  readonly strata: TestServer;
  readonly alice: UserClient;
  readonly bob: UserClient;
  stop(): Promise<void>;
}

const uniqueName = (): string => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export const startSynapseAndStrata = async (): Promise<SynapseAndStrata> => {
  const peer = await startSynapsePeer();
  const strata = await startStrataBesideSynapse();
  const strataClient = new MatrixClient(strata.url);
  const synapseClient = new MatrixClient(peer.clientUrl);
  return {
    peer, strata,
    alice: new UserClient(strataClient, await strataClient.register(`alice${uniqueName()}`)),
    bob: new UserClient(synapseClient, await synapseClient.registerWithSharedSecret(peer.sharedSecret, `bob${uniqueName()}`)),
    async stop() {
      await strata.stop();
      await peer.stop();
    },
  };
};
