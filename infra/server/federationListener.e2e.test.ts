/**
 * Strata's TLS listener (`federation.listen`): the whole application over HTTPS, with a self-signed
 * certificate kept in the data directory across restarts, or the configured certificate and key;
 * a server name that is an IP literal with a port works for accounts end to end.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { MatrixClient } from '../../test/harness/index.ts';
import { loadConfig, type Env } from '../config/index.ts';
import { startStrata } from '../strata.ts';
import { createSelfSignedCertificate } from './selfSignedCertificate.ts';
import { SELF_SIGNED_CERTIFICATE_FILE, SELF_SIGNED_KEY_FILE } from './tlsCredentials.ts';

interface Started {
  readonly url: string;
  readonly httpsUrl: string;
  readonly warnings: string[];
  stop(): Promise<void>;
}

const running: Started[] = [];
const temporary: string[] = [];

afterEach(async () => {
  for (const server of running.splice(0).reverse()) await server.stop();
  for (const dir of temporary.splice(0)) await rm(dir, { recursive: true, force: true });
});

const tempDir = async (): Promise<string> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-tls-'));
  temporary.push(dir);
  return dir;
};

/** Starts Strata in-process in embedded mode, as infra/main.ts composes it, collecting warnings. */
const start = async (dataDir: string, env: Env): Promise<Started> => {
  const config = loadConfig({
    STRATA_LISTEN: '127.0.0.1:0', STRATA_FEDERATION_LISTEN: '127.0.0.1:0', STRATA_DATA_DIR: dataDir,
    STRATA_REGISTRATION: 'open', STRATA_LOG_LEVEL: 'warn', ...env,
  });
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => { warnings.push((JSON.parse(line) as { msg: string }).msg); } });
  const steps: { name: string; stop: () => Promise<void> }[] = [];
  const stopAll = async () => {
    for (const step of steps.splice(0).reverse()) await step.stop();
  };
  try {
    const started = await startStrata(config, logger, { onStop: (name, stop) => steps.push({ name, stop }) });
    if (started.federationAddress === undefined) throw new Error('no federation listener started');
    const server = { url: `http://${started.address}`, httpsUrl: `https://${started.federationAddress}`, warnings, stop: stopAll };
    running.push(server);
    return server;
  } catch (error) {
    await stopAll();
    throw error;
  }
};

const stopped = async (server: Started): Promise<void> => {
  running.splice(running.indexOf(server), 1);
  await server.stop();
};

interface HttpsReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  /** The certificate the server presented. */
  readonly certificate: X509Certificate;
}

/**
 * One HTTPS request on its own connection (no keep-alive pool, so every call sees a handshake),
 * trusting exactly `ca`: the request fails unless the server presents that certificate.
 */
const https = (url: string, ca: string, options: { token?: string; anyHost?: boolean } = {}): Promise<HttpsReply> =>
  new Promise((resolve, reject) => {
    const req = request(url, {
      ca, agent: false,
      // The chain is still checked against `ca`; only the name in it is not compared with the URL's host.
      ...(options.anyHost === true ? { checkServerIdentity: () => undefined } : {}),
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
    }, (res) => {
      const certificate = (res.socket as TLSSocket).getPeerX509Certificate();
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; }).on('end', () => {
        if (certificate === undefined) reject(new Error('no peer certificate'));
        else resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown>, certificate });
      });
    });
    req.on('error', reject);
    req.end();
  });

describe('the federation TLS listener', () => {
  it('serves the application over HTTPS with a self-signed certificate it keeps across restarts', async () => {
    const dataDir = await tempDir();
    const first = await start(dataDir, { STRATA_SERVER_NAME: '127.0.0.1:8448' });
    const certificatePath = path.join(dataDir, SELF_SIGNED_CERTIFICATE_FILE);
    const cert = await readFile(certificatePath, 'utf8');
    expect(first.warnings.some((msg) => msg.includes('created a self-signed one'))).toBe(true);
    // The key is readable by its owner only.
    expect((await stat(path.join(dataDir, SELF_SIGNED_KEY_FILE))).mode & 0o077).toBe(0);

    // Trusting exactly the stored certificate proves it is the one served, valid for the server's IP.
    const versions = await https(`${first.httpsUrl}/_matrix/client/versions`, cert);
    expect(versions.status).toBe(200);
    expect(versions.body.versions).toEqual(expect.arrayContaining(['v1.1']));
    expect(versions.certificate.checkIP('127.0.0.1')).toBe('127.0.0.1');
    // Federation endpoints are on the same application.
    const federationVersion = await https(`${first.httpsUrl}/_matrix/federation/v1/version`, cert);
    expect(federationVersion.status).toBe(200);
    expect(federationVersion.body).toMatchObject({ server: { name: 'Strata' } });
    // The plain listener still serves HTTP.
    expect((await fetch(`${first.url}/_matrix/client/versions`)).status).toBe(200);

    await stopped(first);
    // Shutdown closed the TLS listener too.
    await expect(https(`${first.httpsUrl}/_matrix/client/versions`, cert)).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const second = await start(dataDir, { STRATA_SERVER_NAME: '127.0.0.1:8448' });
    expect(second.warnings.some((msg) => msg.includes('serving the self-signed one'))).toBe(true);
    expect(await readFile(certificatePath, 'utf8')).toBe(cert);
    const again = await https(`${second.httpsUrl}/_matrix/client/versions`, cert);
    expect(again.certificate.fingerprint256).toBe(versions.certificate.fingerprint256);
  });

  it('serves the configured certificate and key', async () => {
    const dataDir = await tempDir();
    const { cert, key } = createSelfSignedCertificate({ host: '127.0.0.1', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) });
    const certificatePath = path.join(dataDir, 'configured.crt');
    const keyPath = path.join(dataDir, 'configured.key');
    await writeFile(certificatePath, cert);
    await writeFile(keyPath, key, { mode: 0o600 });
    const server = await start(dataDir, { STRATA_TLS_CERTIFICATE_PATH: certificatePath, STRATA_TLS_PRIVATE_KEY_PATH: keyPath });
    const reply = await https(`${server.httpsUrl}/_matrix/client/versions`, cert);
    expect(reply.status).toBe(200);
    expect(reply.certificate.fingerprint256).toBe(new X509Certificate(cert).fingerprint256);
    // No self-signed certificate was made, and no warning about one.
    await expect(stat(path.join(dataDir, SELF_SIGNED_CERTIFICATE_FILE))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(server.warnings.filter((msg) => msg.includes('self-signed'))).toEqual([]);
  });

  it('refuses to start with a key that is not the certificate\'s, or a file it cannot read, naming the key', async () => {
    const dataDir = await tempDir();
    const validity = { host: '127.0.0.1', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000) };
    const certificatePath = path.join(dataDir, 'a.crt');
    const otherKeyPath = path.join(dataDir, 'b.key');
    await writeFile(certificatePath, createSelfSignedCertificate(validity).cert);
    await writeFile(otherKeyPath, createSelfSignedCertificate(validity).key);
    await expect(start(dataDir, { STRATA_TLS_CERTIFICATE_PATH: certificatePath, STRATA_TLS_PRIVATE_KEY_PATH: otherKeyPath }))
      .rejects.toThrow('federation.tls_certificate_path / federation.tls_private_key_path');
    await expect(start(dataDir, { STRATA_TLS_CERTIFICATE_PATH: path.join(dataDir, 'missing.crt'), STRATA_TLS_PRIVATE_KEY_PATH: otherKeyPath }))
      .rejects.toThrow(/federation\.tls_certificate_path: cannot read .*missing\.crt: ENOENT/);
  });

  it.each(['127.0.0.1:8448', '[::1]:8448'])('registers and logs in users of the IP-literal server name %s', async (serverName) => {
    const dataDir = await tempDir();
    const server = await start(dataDir, { STRATA_SERVER_NAME: serverName });
    const client = new MatrixClient(server.url);
    const alice = await client.register('alice');
    expect(alice.userId).toBe(`@alice:${serverName}`);
    const session = await client.login(`@alice:${serverName}`);
    expect(session.userId).toBe(`@alice:${serverName}`);
    // The same account through the TLS listener, whose certificate names the server name's host
    // (the listener itself is on 127.0.0.1 in both cases).
    const cert = await readFile(path.join(dataDir, SELF_SIGNED_CERTIFICATE_FILE), 'utf8');
    const whoami = await https(`${server.httpsUrl}/_matrix/client/v3/account/whoami`, cert, { token: session.accessToken, anyHost: true });
    expect(whoami.body).toMatchObject({ user_id: `@alice:${serverName}` });
    expect(whoami.certificate.checkIP(serverName.startsWith('[') ? '::1' : '127.0.0.1')).toBeDefined();
  });
});
