// Server keys as deployed: the key ring fetches through the outbound federation client (discovery
// of an IP-literal server name, TLS to the federation listener, the address policy), not through
// a test's fetch. Three servers named 127.0.0.1:<federation port>: A reaches B directly, and
// reaches C — outside its federation_domain_whitelist — only through B as its trusted notary.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyJsonSignature, verifyServerKeys, type JsonObject } from '../../domain/index.ts';
import { freePort, startTestServer, type TestServer } from '../harness/index.ts';

const getJson = async (url: string): Promise<{ status: number; body: JsonObject }> => {
  const response = await fetch(url);
  return { status: response.status, body: await response.json() as JsonObject };
};

const start = async (port: number, federation: Record<string, unknown> = {}): Promise<TestServer> => startTestServer({
  mode: 'embedded',
  config: {
    STRATA_SERVER_NAME: `127.0.0.1:${port}`,
    STRATA_FEDERATION_LISTEN: `127.0.0.1:${port}`,
    // A self-signed certificate (kept in the data dir) and loopback peers: a test deployment.
    STRATA_FEDERATION_VERIFY_CERTIFICATES: 'false',
    STRATA_FEDERATION_IP_RANGE_WHITELIST: '127.0.0.0/8',
  },
  file: { federation },
});

describe('server keys over the federation client', () => {
  let a: TestServer;
  let b: TestServer;
  let c: TestServer;
  let names: { a: string; b: string; c: string };

  beforeAll(async () => {
    const [portA, portB, portC] = [await freePort(), await freePort(), await freePort()];
    names = { a: `127.0.0.1:${portA}`, b: `127.0.0.1:${portB}`, c: `127.0.0.1:${portC}` };
    [b, c] = await Promise.all([start(portB), start(portC)]);
    a = await start(portA, { domain_whitelist: [names.b], trusted_key_servers: [names.b] });
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  });

  it('fetches a server\'s keys over TLS and answers for it as a notary', async () => {
    const { status, body } = await getJson(`${a.url}/_matrix/key/v2/query/${names.b}`);
    expect(status).toBe(200);
    const [document] = body.server_keys as JsonObject[];
    expect(verifyServerKeys(document, names.b, Date.now())).toMatchObject({ ok: true });
    const own = (await getJson(`${a.url}/_matrix/key/v2/server`)).body;
    const [[keyId, entry]] = Object.entries(own.verify_keys as Record<string, { key: string }>) as [[string, { key: string }]];
    expect(verifyJsonSignature(document as JsonObject, names.a, keyId, entry.key)).toBe(true);
  });

  it('reaches a server outside its whitelist through its trusted notary, whose keys it fetched itself', async () => {
    const { body } = await getJson(`${a.url}/_matrix/key/v2/query/${names.c}`);
    const [document] = body.server_keys as JsonObject[];
    expect(body.server_keys).toHaveLength(1);
    expect(verifyServerKeys(document, names.c, Date.now())).toMatchObject({ ok: true });
    // Signed by C, by B (the notary A asked) and by A (the notary answering us).
    expect(Object.keys((document as JsonObject).signatures as JsonObject).sort()).toEqual([names.a, names.b, names.c].sort());
  });
});
