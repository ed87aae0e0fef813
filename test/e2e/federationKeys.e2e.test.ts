// Server keys between two running Strata servers (server-server-api.md § Retrieving server keys):
// each publishes a self-signed /_matrix/key/v2/server; A, as a notary, fetches B's keys over
// loopback HTTP, keeps them in its PostgreSQL database, and answers /_matrix/key/v2/query with
// B's document signed by both B and A — still after B went away.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeBase64, isJsonObject, signingKeyFromSeed, verifyJsonSignature, verifyServerKeys, type JsonObject,
} from '../../domain/index.ts';
import { startTestServer, type TestServer } from '../harness/index.ts';

const A = 'a.strata.test';
const B = 'b.strata.test';
const DAY = 24 * 60 * 60 * 1000;

/** Server name → base URL; the stand-in for federation discovery until the outbound client exists. */
const urls = new Map<string, string>();
const federationFetch = async (serverName: string, path: string): Promise<JsonObject> => {
  const base = urls.get(serverName);
  if (base === undefined) throw new Error(`unknown server ${serverName}`);
  const response = await fetch(`${base}${path}`);
  if (!response.ok) throw new Error(`${serverName} answered ${response.status}`);
  const body: unknown = await response.json();
  if (!isJsonObject(body)) throw new Error(`${serverName} answered no JSON object`);
  return body;
};

const getJson = async (url: string, init?: RequestInit): Promise<{ status: number; body: JsonObject }> => {
  const response = await fetch(url, init);
  return { status: response.status, body: await response.json() as JsonObject };
};

/** The only verify key of a key document (Strata publishes one). */
const verifyKeyOf = (document: JsonObject): { keyId: string; key: string } => {
  const [entry] = Object.entries(document.verify_keys as Record<string, { key: string }>);
  if (entry === undefined) throw new Error('no verify key');
  return { keyId: entry[0], key: entry[1].key };
};

describe('server keys between two Strata servers', () => {
  let a: TestServer;
  let b: TestServer;
  let bStopped = false;

  beforeAll(async () => {
    [a, b] = await Promise.all([
      startTestServer({ mode: 'distributed', config: { STRATA_SERVER_NAME: A }, federationFetch }),
      startTestServer({ mode: 'distributed', config: { STRATA_SERVER_NAME: B }, federationFetch }),
    ]);
    urls.set(A, a.url);
    urls.set(B, b.url);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), bStopped ? undefined : b?.stop()]);
  });

  it('publishes a self-signed key document valid for a day, verified by the domain\'s own check', async () => {
    const before = Date.now();
    const { status, body } = await getJson(`${a.url}/_matrix/key/v2/server`);
    expect(status).toBe(200);
    const verdict = verifyServerKeys(body, A, Date.now());
    expect(verdict).toMatchObject({ ok: true });
    expect(body.old_verify_keys).toEqual({});
    expect(body.valid_until_ts).toBeGreaterThanOrEqual(before + DAY - 60_000);
    expect(body.valid_until_ts).toBeLessThanOrEqual(Date.now() + DAY);
    // The deprecated form with a key id answers the same document.
    const { keyId } = verifyKeyOf(body);
    expect((await getJson(`${a.url}/_matrix/key/v2/server/${encodeURIComponent(keyId)}`)).body).toEqual(body);
  });

  it('answers for another server as a notary: its document, signed by it and by us', async () => {
    const own = (await getJson(`${a.url}/_matrix/key/v2/server`)).body;
    const bDocument = (await getJson(`${b.url}/_matrix/key/v2/server`)).body;
    const { status, body } = await getJson(`${a.url}/_matrix/key/v2/query/${B}`);
    expect(status).toBe(200);
    const [notarised] = body.server_keys as JsonObject[];
    expect(body.server_keys).toHaveLength(1);
    if (notarised === undefined) return;
    expect(verifyServerKeys(notarised, B, Date.now())).toMatchObject({ ok: true });
    const aKey = verifyKeyOf(own);
    expect(verifyJsonSignature(notarised, A, aKey.keyId, aKey.key)).toBe(true);
    const { signatures: _ours, ...content } = notarised;
    const { signatures: _theirs, ...published } = bDocument;
    expect(content).toEqual(published);
  });

  it('answers the batch form, our own name included, and honours minimum_valid_until_ts', async () => {
    const bKey = verifyKeyOf((await getJson(`${b.url}/_matrix/key/v2/server`)).body);
    const { status, body } = await getJson(`${a.url}/_matrix/key/v2/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ server_keys: { [B]: { [bKey.keyId]: { minimum_valid_until_ts: Date.now() } }, [A]: {} } }),
    });
    expect(status).toBe(200);
    const documents = body.server_keys as JsonObject[];
    expect(documents.map((document) => document.server_name).sort()).toEqual([A, B]);
    for (const document of documents) expect(verifyServerKeys(document, document.server_name as string, Date.now())).toMatchObject({ ok: true });
    // Asking for keys valid beyond B's document refreshes it no more than once a minute: the answer
    // is what is cached, which the asking server judges itself.
    const later = await getJson(`${a.url}/_matrix/key/v2/query/${B}?minimum_valid_until_ts=${Date.now() + 3 * DAY}`);
    expect(later.body.server_keys).toHaveLength(1);
  });

  it('refuses malformed queries', async () => {
    expect(await getJson(`${a.url}/_matrix/key/v2/query/not%20a%20server`)).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    expect(await getJson(`${a.url}/_matrix/key/v2/query/${B}?minimum_valid_until_ts=soon`))
      .toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`s${i}.test`, {}]));
    const post = (body: unknown) => getJson(`${a.url}/_matrix/key/v2/query`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    expect(await post({ server_keys: tooMany })).toMatchObject({ status: 400, body: { errcode: 'M_INVALID_PARAM' } });
    expect(await post({ server_keys: [] })).toMatchObject({ status: 400, body: { errcode: 'M_BAD_JSON' } });
    expect(await post({ server_keys: {} })).toMatchObject({ status: 200, body: { server_keys: [] } });
  });

  it('keeps answering for a server that went away, from its database', async () => {
    const before = (await getJson(`${a.url}/_matrix/key/v2/query/${B}`)).body;
    await b.stop();
    bStopped = true;
    const after = await getJson(`${a.url}/_matrix/key/v2/query/${B}?minimum_valid_until_ts=${Date.now() + 2 * DAY}`);
    expect(after.status).toBe(200);
    expect(after.body).toEqual(before);
  });
});

describe('a signing key file (federation.signing_key_path)', () => {
  it('is the key the server publishes and signs with', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'strata-key-file-'));
    const seed = randomBytes(32);
    const keyFile = path.join(dir, 'signing.key');
    await writeFile(keyFile, `ed25519 a_synapse ${encodeBase64(seed)}\n`);
    const server = await startTestServer({ mode: 'embedded', config: { STRATA_SERVER_NAME: 'keyfile.test', STRATA_SIGNING_KEY_PATH: keyFile } });
    try {
      const { body } = await getJson(`${server.url}/_matrix/key/v2/server`);
      expect(body.verify_keys).toEqual({ 'ed25519:a_synapse': { key: signingKeyFromSeed('keyfile.test', 'ed25519:a_synapse', seed).publicKeyBase64 } });
      // The key created at the first start of the database would be listed here; this one had none.
      expect(body.old_verify_keys).toEqual({});
      expect(verifyServerKeys(body, 'keyfile.test', Date.now())).toMatchObject({ ok: true });
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
