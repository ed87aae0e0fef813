/**
 * Remote lookups when the other server cannot answer: a port nobody listens on (refused) and a
 * server that accepts connections and never says anything (timed out). `/keys/query` and
 * `/keys/claim` report such servers under `failures` beside the local answers (keys.yaml), within
 * the request's `timeout`; profile, alias and room-list lookups answer 502/504 (as Synapse does).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, startTestServer, type TestServer } from '../harness/index.ts';

let strata: TestServer;
let client: MatrixClient;
let token: string;
let userId: string;
let refused: string;
let silent: Server;
let silentName: string;
const sockets: Socket[] = [];

const listen = (server: Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

beforeAll(async () => {
  // A port that was free a moment ago: connecting to it is refused.
  const probe = createServer();
  refused = `127.0.0.1:${await listen(probe)}`;
  await new Promise((resolve) => probe.close(resolve));
  silent = createServer((socket) => { sockets.push(socket); });
  silentName = `127.0.0.1:${await listen(silent)}`;
  strata = await startTestServer({
    mode: 'embedded',
    // Loopback is refused by the default address policy; these "remote servers" live there.
    file: { federation: { verify_certificates: false, ip_range_whitelist: ['127.0.0.1/32'] } },
  });
  client = new MatrixClient(strata.url);
  const session = await client.register('failures');
  token = session.accessToken;
  userId = session.userId;
  await client.ok('POST', '/keys/upload', { token, json: { one_time_keys: { 'signed_curve25519:AAAA': { key: 'a2V5' } } } });
}, 120_000);

afterAll(async () => {
  await strata?.stop();
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => (silent === undefined ? resolve(undefined) : silent.close(resolve)));
});

describe('remote lookups that fail', () => {
  it('reports servers that cannot answer under failures in /keys/query, within the timeout', async () => {
    const started = Date.now();
    const reply = await client.ok('POST', '/keys/query', {
      token, json: { device_keys: { [userId]: [], [`@a:${refused}`]: [], [`@b:${silentName}`]: [] }, timeout: 1_000 },
    });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(reply.failures).toEqual({
      [refused]: { status: 502, message: expect.stringContaining(refused) },
      [silentName]: { status: 504, message: expect.stringContaining(silentName) },
    });
    // The local user is answered all the same.
    expect(Object.keys(reply.device_keys as object)).toEqual([userId]);
  });

  it('reports them in /keys/claim too, beside the local keys claimed', async () => {
    const devices = await client.ok('GET', '/devices', { token });
    const deviceId = (devices.devices as { device_id: string }[])[0]!.device_id;
    const reply = await client.ok('POST', '/keys/claim', {
      token, json: { one_time_keys: { [userId]: { [deviceId]: 'signed_curve25519' }, [`@b:${silentName}`]: { D: 'signed_curve25519' } }, timeout: 500 },
    });
    expect(reply).toEqual({
      one_time_keys: { [userId]: { [deviceId]: { 'signed_curve25519:AAAA': { key: 'a2V5' } } } },
      failures: { [silentName]: { status: 504, message: expect.any(String) } },
    });
  });

  it('refuses a timeout that is not a non-negative integer', async () => {
    await client.fails('POST', '/keys/query', { status: 400, errcode: 'M_BAD_JSON' }, { token, json: { device_keys: {}, timeout: 'soon' } });
  });

  it('answers 502 with a clear error for a profile, alias or room list it could not fetch', async () => {
    const profile = await client.fails('GET', `/profile/${encodeURIComponent(`@a:${refused}`)}`, { status: 502, errcode: 'M_UNKNOWN' }, { token });
    expect(profile.error).toContain(`Failed to fetch the profile from ${refused}`);
    await client.fails('GET', `/profile/${encodeURIComponent(`@a:${refused}`)}/displayname`, { status: 502, errcode: 'M_UNKNOWN' }, { token });
    await client.fails('GET', `/directory/room/${encodeURIComponent(`#room:${refused}`)}`, { status: 502, errcode: 'M_UNKNOWN' }, { token });
    await client.fails('GET', '/publicRooms', { status: 502, errcode: 'M_UNKNOWN' }, { token, query: { server: refused } });
  });
});
