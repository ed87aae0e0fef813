/**
 * Synapse runs as a federation peer (infra/services/synapse.sh with STRATA_SYNAPSE_FEDERATION=1):
 * its TLS listener answers the key and federation version endpoints under its IP-literal server
 * name, and accounts can be made on it with the shared secret.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isJsonObject, verifyJsonSignature, type JsonObject } from '../../domain/index.ts';
import { MatrixClient } from '../harness/index.ts';
import { getTlsJson, startSynapsePeer, type SynapsePeer } from './synapsePeer.ts';

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
    const { status, body, certificate } = await getTlsJson(`${peer.federationUrl}/_matrix/key/v2/server`, peer.certificate);
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
    const { status, body } = await getTlsJson(`${peer.federationUrl}/_matrix/federation/v1/version`, peer.certificate);
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
});
