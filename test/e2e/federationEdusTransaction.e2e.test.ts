// EDUs arriving the way other servers send them: a transaction `PUT /_matrix/federation/v1/send/{txnId}`
// signed by server B (X-Matrix, B's key fetched from B's own listener) reaches A's EDU receiver,
// and a to-device message from B's user shows up in A's user's /sync, once, retries included; an
// EDU B cannot speak for (a sender of another server) is dropped while the transaction succeeds.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBase64, signingKeyFromSeed, type JsonObject } from '../../domain/index.ts';
import { createFederationClient, type FederationClient } from '../../infra/federation/client/index.ts';
import { MatrixClient, freePort, startTestServer, type Body, type TestServer, type UserClient } from '../harness/index.ts';

const start = (port: number, extra: Record<string, string> = {}): Promise<TestServer> => startTestServer({
  mode: 'embedded',
  config: {
    STRATA_SERVER_NAME: `127.0.0.1:${port}`,
    STRATA_FEDERATION_LISTEN: `127.0.0.1:${port}`,
    STRATA_FEDERATION_VERIFY_CERTIFICATES: 'false',
    STRATA_FEDERATION_IP_RANGE_WHITELIST: '127.0.0.0/8',
    ...extra,
  },
});

const toDeviceOf = (sync: Body): Body[] => (sync.to_device?.events as Body[] | undefined) ?? [];

describe('EDUs in signed inbound transactions', () => {
  let a: TestServer;
  let b: TestServer;
  let keyDir: string;
  let names: { a: string; b: string };
  let asB: FederationClient;
  let alice: UserClient;

  beforeAll(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    names = { a: `127.0.0.1:${portA}`, b: `127.0.0.1:${portB}` };
    keyDir = await mkdtemp(path.join(tmpdir(), 'strata-fed-edus-'));
    const seed = randomBytes(32);
    const keyFile = path.join(keyDir, 'b.key');
    await writeFile(keyFile, `ed25519 a_b ${encodeBase64(seed)}\n`);
    [a, b] = await Promise.all([start(portA), start(portB, { STRATA_SIGNING_KEY_PATH: keyFile })]);
    asB = createFederationClient({
      serverName: names.b, signingKey: signingKeyFromSeed(names.b, 'ed25519:a_b', seed), verifyCertificates: false, ipRangeWhitelist: ['127.0.0.0/8'],
    });
    const client = new MatrixClient(a.url);
    alice = client.as(await client.register('alice'));
  });
  afterAll(async () => {
    asB?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    if (keyDir !== undefined) await rm(keyDir, { recursive: true, force: true });
  });

  const send = (txnId: string, edus: JsonObject[]) => asB.request(names.a, 'PUT', `/_matrix/federation/v1/send/${txnId}`, {
    origin: names.b, origin_server_ts: Date.now(), pdus: [], edus,
  });

  it('delivers a remote to-device message to the local device once, and drops one B cannot speak for', async () => {
    const first = await alice.sync({ timeout: 0 });
    const carol = `@carol:${names.b}`;
    const toDevice = (sender: string, messageId: string, content: JsonObject): JsonObject => ({
      edu_type: 'm.direct_to_device',
      content: { sender, type: 'm.room_key_request', message_id: messageId, messages: { [alice.userId]: { '*': content } } },
    });
    expect(await send('t1', [toDevice(carol, 'm1', { n: 1 }), toDevice('@mallory:elsewhere.example', 'm2', { n: 2 })])).toEqual({ pdus: {} });
    const got = await alice.syncUntil((sync) => toDeviceOf(sync).length > 0, { since: first.next_batch as string });
    expect(toDeviceOf(got)).toEqual([{ sender: carol, type: 'm.room_key_request', content: { n: 1 } }]);
    // B retries the EDU in a new transaction (its queue did not hear our answer): no second copy.
    await send('t2', [toDevice(carol, 'm1', { n: 1 })]);
    const after = await alice.sync({ since: got.next_batch as string, timeout: 500 });
    expect(toDeviceOf(after)).toEqual([]);
  });
});
