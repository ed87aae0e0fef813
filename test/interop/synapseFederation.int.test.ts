/**
 * Synapse runs as a federation peer (infra/services/synapse.sh with STRATA_SYNAPSE_FEDERATION=1):
 * its TLS listener answers the key and federation version endpoints under its IP-literal server
 * name, accounts can be made on it with the shared secret, and it reaches a server behind
 * Strata's TLS listener (self-signed certificate, IP-literal name on loopback).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isJsonObject, signJson, signingKeyFromSeed, verifyJsonSignature, type JsonObject } from '../../domain/index.ts';
import { startFederationListener } from '../../infra/server/index.ts';
import { MatrixClient } from '../harness/index.ts';
import { startSynapsePeer, tlsJson, type SynapsePeer } from './synapsePeer.ts';

let peer: SynapsePeer;

beforeAll(async () => {
  peer = await startSynapsePeer();
}, 180_000);

afterAll(async () => {
  await peer?.stop();
}, 120_000);

describe('Synapse as a federation peer', () => {
  it('serves its self-signed keys under its IP-literal server name over TLS', async () => {
    // Trusting exactly the peer's certificate: the request fails unless the listener presents it.
    const { status, body, certificate } = await tlsJson(`${peer.federationUrl}/_matrix/key/v2/server`, peer.certificate);
    expect(status).toBe(200);
    expect(certificate?.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(body.server_name).toBe(peer.serverName);
    expect(body.valid_until_ts).toBeGreaterThan(Date.now());
    const keys = Object.entries(body.verify_keys as Record<string, { key: string }>);
    expect(keys.length).toBeGreaterThan(0);
    expect(isJsonObject(body)).toBe(true);
    for (const [keyId, { key }] of keys) {
      expect(keyId).toMatch(/^ed25519:/);
      expect(verifyJsonSignature(body as JsonObject, peer.serverName, keyId, key)).toBe(true);
    }
  });

  it('answers the federation version endpoint', async () => {
    const { status, body } = await tlsJson(`${peer.federationUrl}/_matrix/federation/v1/version`, peer.certificate);
    expect(status).toBe(200);
    expect(body.server).toMatchObject({ name: 'Synapse', version: expect.any(String) });
  });

  it('registers users of its IP-literal server name with the shared secret', async () => {
    const client = new MatrixClient(peer.clientUrl);
    const username = `peer${Date.now().toString(36)}`;
    const session = await client.registerWithSharedSecret(peer.sharedSecret, username);
    expect(session.userId).toBe(`@${username}:${peer.serverName}`);
    expect(await client.ok('GET', '/account/whoami', { token: session.accessToken })).toMatchObject({ user_id: session.userId });
  });

  it('fetches the keys of a server behind Strata\'s TLS listener and notarises them', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'strata-interop-tls-'));
    const requests: string[] = [];
    // The listener's port is in the server name, so the key document is made once it is bound.
    let serverName = '';
    const handler: RequestListener = (req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (req.url !== '/_matrix/key/v2/server') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"errcode":"M_UNRECOGNIZED"}');
        return;
      }
      const document = signJson({
        server_name: serverName, verify_keys: { [key().keyId]: { key: key().publicKeyBase64 } }, old_verify_keys: {},
        valid_until_ts: Date.now() + 3_600_000,
      }, key());
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document));
    };
    const seed = randomBytes(32);
    const key = () => signingKeyFromSeed(serverName, 'ed25519:interop', seed);
    const listener = await startFederationListener(handler, {
      serverName: '127.0.0.1', dataDir,
      federation: { listen: { host: '127.0.0.1', port: 0 }, verifyCertificates: true, ipRangeWhitelist: [], trustedKeyServers: [] },
    }, pino({ level: 'silent' }));
    try {
      if (listener === undefined) throw new Error('no listener started');
      serverName = `127.0.0.1:${listener.address.port}`;
      // Synapse answers a notary query for a key it has not cached by fetching it from the server.
      const { status, body } = await tlsJson(`${peer.federationUrl}/_matrix/key/v2/query`, peer.certificate, {
        server_keys: { [serverName]: { 'ed25519:interop': { minimum_valid_until_ts: 0 } } },
      });
      expect(requests).toContain('GET /_matrix/key/v2/server');
      expect(status).toBe(200);
      const [notarised] = body.server_keys as JsonObject[];
      expect(notarised).toMatchObject({ server_name: serverName, verify_keys: { 'ed25519:interop': { key: key().publicKeyBase64 } } });
      // Signed by the server itself and countersigned by Synapse with its own key.
      expect(verifyJsonSignature(notarised!, serverName, 'ed25519:interop', key().publicKeyBase64)).toBe(true);
      const peerKeys = (await tlsJson(`${peer.federationUrl}/_matrix/key/v2/server`, peer.certificate)).body.verify_keys as Record<string, { key: string }>;
      expect(Object.entries(peerKeys).some(([keyId, { key: publicKey }]) => verifyJsonSignature(notarised!, peer.serverName, keyId, publicKey))).toBe(true);
    } finally {
      await listener?.close(1_000);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
