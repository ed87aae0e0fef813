/**
 * Federation transport against Synapse (the peer of infra/services/synapse.sh with
 * STRATA_SYNAPSE_FEDERATION=1): our client's X-Matrix signatures are accepted by Synapse, and
 * Synapse's signed requests pass our middleware. Our side is an in-process HTTPS server named
 * `127.0.0.1:<port>` serving our key document and one federation route.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { Router } from '@koa/router';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isJsonObject, signJson, signingKeyFromSeed, verifyJsonSignature, type JsonObject } from '../../domain/index.ts';
import { federationAuth, originOf } from '../../gateways/federation/index.ts';
import { createHttpApp, type RequestState } from '../../gateways/http/index.ts';
import { createFederationClient, FederationHttpError, type FederationClient } from '../../infra/federation/client/index.ts';
import { MatrixClient } from '../harness/index.ts';
import { startSynapsePeer, type SynapsePeer } from './synapsePeer.ts';

let peer: SynapsePeer;
let dir: string;
let server: Server;
let ourName: string;
let client: FederationClient;
let defaultCas: string[];
const seen: { origin: string; url: string }[] = [];

beforeAll(async () => {
  peer = await startSynapsePeer();
  // Certificates are checked: Synapse's self-signed one is trusted the way NODE_EXTRA_CA_CERTS would.
  defaultCas = tls.getCACertificates('default');
  tls.setDefaultCACertificates([...defaultCas, peer.certificate]);

  dir = mkdtempSync(join(tmpdir(), 'strata-interop-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  let handler: Parameters<typeof createServer>[1] = () => undefined;
  server = createServer({ cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) }, (req, res) => handler!(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ourName = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const key = signingKeyFromSeed(ourName, 'ed25519:interop', new Uint8Array(32).fill(9));
  client = createFederationClient({ serverName: ourName, signingKey: key, verifyCertificates: true, ipRangeWhitelist: ['127.0.0.1/32'], requestTimeoutMs: 30_000 });

  // Synapse's keys, fetched with our client and accepted only when self-signed.
  const lookupKey = async (serverName: string, keyId: string): Promise<string | undefined> => {
    const document = await client.request(serverName, 'GET', '/_matrix/key/v2/server');
    if (!isJsonObject(document) || document.server_name !== serverName || !isJsonObject(document.verify_keys)) return undefined;
    const entry = document.verify_keys[keyId];
    const publicKey = isJsonObject(entry) && typeof entry.key === 'string' ? entry.key : undefined;
    return publicKey !== undefined && verifyJsonSignature(document, serverName, keyId, publicKey) ? publicKey : undefined;
  };
  const router = new Router<RequestState>();
  router.get(/^\/_matrix\/key\/v2\/server/, (ctx) => {
    ctx.body = signJson({ server_name: ourName, valid_until_ts: Date.now() + 3600_000, verify_keys: { [key.keyId]: { key: key.publicKeyBase64 } }, old_verify_keys: {} } as JsonObject, key);
  });
  router.get('/_matrix/federation/v1/query/profile', federationAuth({ serverName: ourName, lookupKey }), (ctx) => {
    seen.push({ origin: originOf(ctx), url: ctx.originalUrl });
    ctx.body = { displayname: 'Remote One' };
  });
  const callback = createHttpApp({ logger: pino({ level: 'silent' }), routers: [router] }).callback();
  handler = (req, res) => void callback(req, res);
}, 180_000);

afterAll(async () => {
  client?.close();
  if (defaultCas !== undefined) tls.setDefaultCACertificates(defaultCas);
  server?.closeAllConnections();
  await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  await peer?.stop();
}, 120_000);

describe('federation transport with Synapse', () => {
  it('Synapse accepts our signed requests (and fetches our keys to check them)', async () => {
    const username = `transport${Date.now().toString(36)}`;
    const session = await new MatrixClient(peer.clientUrl).registerWithSharedSecret(peer.sharedSecret, username);
    const query = `user_id=${encodeURIComponent(session.userId)}&field=displayname`;
    expect(await client.request(peer.serverName, 'GET', `/_matrix/federation/v1/query/profile?${query}`)).toEqual({ displayname: username });
  });

  it('Synapse refuses a request signed with a key our key document does not list', async () => {
    const stranger = createFederationClient({
      serverName: ourName, signingKey: signingKeyFromSeed(ourName, 'ed25519:unpublished', new Uint8Array(32).fill(10)),
      verifyCertificates: true, ipRangeWhitelist: ['127.0.0.1/32'],
    });
    try {
      await expect(stranger.request(peer.serverName, 'GET', '/_matrix/federation/v1/query/profile?user_id=%40x%3A127.0.0.1')).rejects.toSatisfy(
        (error) => error instanceof FederationHttpError && error.status === 401,
      );
    } finally {
      stranger.close();
    }
  });

  it('our middleware accepts Synapse\'s signed requests', async () => {
    const username = `asker${Date.now().toString(36)}`;
    const matrix = new MatrixClient(peer.clientUrl);
    const session = await matrix.registerWithSharedSecret(peer.sharedSecret, username);
    const remoteUser = `@remote:${ourName}`;
    expect(await matrix.ok('GET', `/profile/${encodeURIComponent(remoteUser)}`, { token: session.accessToken })).toMatchObject({ displayname: 'Remote One' });
    expect(seen.some((request) => request.origin === peer.serverName && request.url.includes(encodeURIComponent(remoteUser)))).toBe(true);
  });
});
