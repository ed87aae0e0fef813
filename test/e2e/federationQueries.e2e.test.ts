// The inbound query API between two running Strata servers (server-server-api.md § Querying for
// information, § Device Management, § End-to-End Encryption, § OpenID, § Public Room Directory):
// B signs requests to A with the real outbound client (X-Matrix with B's key from its key file,
// discovery of an IP-literal name, TLS to A's federation listener); A fetches B's key from B's own
// listener and answers each endpoint. Unsigned and wrongly signed requests get 401.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeBase64, signingKeyFromSeed, type JsonObject, type JsonValue, type SigningKey } from '../../domain/index.ts';
import { createFederationClient, FederationHttpError, type FederationClient } from '../../infra/federation/client/index.ts';
import { crossSigningKey, deviceKeys, generateTestKeyPair, signAs } from '../fixtures/index.ts';
import { e, MatrixClient, freePort, startTestServer, type Body, type TestServer, type UserClient } from '../harness/index.ts';

const start = (port: number, extra: Record<string, string> = {}, federation: Record<string, unknown> = {}): Promise<TestServer> => startTestServer({
  mode: 'embedded',
  file: { federation },
  config: {
    STRATA_SERVER_NAME: `127.0.0.1:${port}`,
    STRATA_FEDERATION_LISTEN: `127.0.0.1:${port}`,
    // A self-signed certificate (kept in the data dir) and loopback peers: a test deployment.
    STRATA_FEDERATION_VERIFY_CERTIFICATES: 'false',
    STRATA_FEDERATION_IP_RANGE_WHITELIST: '127.0.0.0/8',
    ...extra,
  },
});

const clientFor = (key: SigningKey): FederationClient => createFederationClient({
  serverName: key.serverName, signingKey: key, verifyCertificates: false, ipRangeWhitelist: ['127.0.0.0/8'],
});

/** The status and errcode a federation request was refused with. */
const refusal = async (request: Promise<JsonValue>): Promise<{ status: number; errcode: string | undefined }> => {
  try {
    await request;
  } catch (error) {
    if (error instanceof FederationHttpError) return { status: error.status, errcode: error.errcode };
    throw error;
  }
  throw new Error('the request succeeded');
};

describe('inbound federation queries', () => {
  let a: TestServer;
  let b: TestServer;
  let keyDir: string;
  let names: { a: string; b: string };
  /** Signs as B with B's own key. */
  let asB: FederationClient;
  /** Claims to be B but signs with a key B never published under that id. */
  let forger: FederationClient;
  let alice: UserClient;
  let aliceDevice: string;
  let master: ReturnType<typeof generateTestKeyPair>;
  let roomId: string;

  beforeAll(async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    names = { a: `127.0.0.1:${portA}`, b: `127.0.0.1:${portB}` };
    keyDir = await mkdtemp(path.join(tmpdir(), 'strata-fed-queries-'));
    const seed = randomBytes(32);
    const keyFile = path.join(keyDir, 'b.key');
    await writeFile(keyFile, `ed25519 a_b ${encodeBase64(seed)}\n`);
    [a, b] = await Promise.all([start(portA), start(portB, { STRATA_SIGNING_KEY_PATH: keyFile })]);
    asB = clientFor(signingKeyFromSeed(names.b, 'ed25519:a_b', seed));
    forger = clientFor(signingKeyFromSeed(names.b, 'ed25519:a_b', randomBytes(32)));

    // A's user, with a profile, a device with keys, one-time and fallback keys, cross-signing keys,
    // and a public room with an alias.
    const client = new MatrixClient(a.url);
    alice = client.as(await client.register('alice'));
    aliceDevice = alice.session.deviceId;
    await alice.put(`/profile/${e(alice.userId)}/displayname`, { displayname: 'Alice' });
    await alice.put(`/devices/${e(aliceDevice)}`, { display_name: 'Alice\'s laptop' });
    const device = generateTestKeyPair();
    await alice.post('/keys/upload', {
      device_keys: deviceKeys(alice.userId, aliceDevice, device),
      one_time_keys: { 'signed_curve25519:AAAAAQ': signAs({ key: 'b25lIHRpbWUga2V5' }, alice.userId, `ed25519:${aliceDevice}`, device) },
    });
    master = generateTestKeyPair();
    const selfSigning = generateTestKeyPair();
    const userSigning = generateTestKeyPair();
    const masterId = `ed25519:${master.publicKey}`;
    await alice.post('/keys/device_signing/upload', {
      master_key: crossSigningKey(alice.userId, 'master', master),
      self_signing_key: signAs(crossSigningKey(alice.userId, 'self_signing', selfSigning), alice.userId, masterId, master),
      user_signing_key: signAs(crossSigningKey(alice.userId, 'user_signing', userSigning), alice.userId, masterId, master),
    });
    roomId = await alice.createRoom({ room_alias_name: 'lobby', visibility: 'public', name: 'Lobby', preset: 'public_chat' });
  });
  afterAll(async () => {
    asB?.close();
    forger?.close();
    await Promise.all([a?.stop(), b?.stop()]);
    if (keyDir !== undefined) await rm(keyDir, { recursive: true, force: true });
  });

  const get = (target: string): Promise<JsonValue> => asB.request(names.a, 'GET', target);
  const post = (target: string, body: JsonObject): Promise<JsonValue> => asB.request(names.a, 'POST', target, body);

  it('refuses unsigned and wrongly signed requests with 401', async () => {
    const target = `/_matrix/federation/v1/query/profile?user_id=${e(alice.userId)}`;
    const unsigned = await fetch(`${a.url}${target}`);
    expect({ status: unsigned.status, body: await unsigned.json() }).toMatchObject({ status: 401, body: { errcode: 'M_UNAUTHORIZED' } });
    expect(await refusal(forger.request(names.a, 'GET', target))).toEqual({ status: 401, errcode: 'M_UNAUTHORIZED' });
    expect(await refusal(forger.request(names.a, 'POST', '/_matrix/federation/v1/user/keys/claim', { one_time_keys: {} })))
      .toEqual({ status: 401, errcode: 'M_UNAUTHORIZED' });
    // The version stays unauthenticated.
    expect((await fetch(`${a.url}/_matrix/federation/v1/version`)).status).toBe(200);
  });

  it('refuses a signed request from an origin outside federation.domain_whitelist with 403', async () => {
    const port = await freePort();
    const closed = await start(port, {}, { domain_whitelist: ['friend.test'] });
    try {
      expect(await refusal(asB.request(`127.0.0.1:${port}`, 'GET', `/_matrix/federation/v1/query/profile?user_id=${e(`@x:127.0.0.1:${port}`)}`)))
        .toEqual({ status: 403, errcode: 'M_FORBIDDEN' });
    } finally {
      await closed.stop();
    }
  });

  it('answers profile queries: the whole profile, one field, 404 for what is not there', async () => {
    const base = `/_matrix/federation/v1/query/profile?user_id=${e(alice.userId)}`;
    expect(await get(base)).toEqual({ displayname: 'Alice' });
    expect(await get(`${base}&field=displayname`)).toEqual({ displayname: 'Alice' });
    expect(await refusal(get(`${base}&field=avatar_url`))).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
    expect(await refusal(get(`/_matrix/federation/v1/query/profile?user_id=${e(`@nobody:${names.a}`)}`))).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
    expect(await refusal(get(`/_matrix/federation/v1/query/profile?user_id=${e(`@alice:${names.b}`)}`))).toEqual({ status: 400, errcode: 'M_INVALID_PARAM' });
    expect(await refusal(get('/_matrix/federation/v1/query/profile'))).toEqual({ status: 400, errcode: 'M_MISSING_PARAM' });
    expect(await refusal(get(`${base}&field=${'x'.repeat(300)}`))).toEqual({ status: 400, errcode: 'M_INVALID_PARAM' });
  });

  it("serves another server's user's display name and avatar to a client: {} when unset, 404 only for an unknown user (Synapse)", async () => {
    const client = new MatrixClient(b.url);
    const bob = client.as(await client.register('bob'));
    expect(await bob.get(`/profile/${e(alice.userId)}/displayname`)).toEqual({ displayname: 'Alice' });
    // A answers 404 for the unset field itself (query.yaml); B tells the client the user exists.
    expect(await bob.get(`/profile/${e(alice.userId)}/avatar_url`)).toEqual({});
    await bob.fails('GET', `/profile/${e(`@nobody:${names.a}`)}/avatar_url`, { status: 404, errcode: 'M_NOT_FOUND' });
    await bob.fails('GET', `/profile/${e(alice.userId)}/org.example.job`, { status: 404, errcode: 'M_NOT_FOUND' });
  });

  it('answers directory queries for local aliases with the resident servers, ours first', async () => {
    expect(await get(`/_matrix/federation/v1/query/directory?room_alias=${e(`#lobby:${names.a}`)}`)).toEqual({ room_id: roomId, servers: [names.a] });
    expect(await refusal(get(`/_matrix/federation/v1/query/directory?room_alias=${e(`#nowhere:${names.a}`)}`))).toEqual({ status: 404, errcode: 'M_NOT_FOUND' });
    expect(await refusal(get(`/_matrix/federation/v1/query/directory?room_alias=${e(`#lobby:${names.b}`)}`))).toEqual({ status: 400, errcode: 'M_INVALID_PARAM' });
  });

  it('lists a user\'s devices with keys, names and cross-signing keys; no user-signing key', async () => {
    const answer = await get(`/_matrix/federation/v1/user/devices/${e(alice.userId)}`) as Body;
    expect(answer).toMatchObject({
      user_id: alice.userId,
      devices: [{ device_id: aliceDevice, device_display_name: 'Alice\'s laptop', keys: { user_id: alice.userId, device_id: aliceDevice } }],
      master_key: { usage: ['master'], keys: { [`ed25519:${master.publicKey}`]: master.publicKey } },
      self_signing_key: { usage: ['self_signing'] },
    });
    expect(Number.isSafeInteger(answer.stream_id)).toBe(true);
    expect(answer).not.toHaveProperty('user_signing_key');
    // A new device's keys move the stream on.
    const laptop = new MatrixClient(a.url).as(await new MatrixClient(a.url).login('alice'));
    await laptop.post('/keys/upload', { device_keys: deviceKeys(alice.userId, laptop.session.deviceId, generateTestKeyPair()) });
    const after = await get(`/_matrix/federation/v1/user/devices/${e(alice.userId)}`) as Body;
    expect(after.stream_id).toBeGreaterThan(answer.stream_id);
    expect((after.devices as Body[]).map((device) => device.device_id).sort()).toEqual([aliceDevice, laptop.session.deviceId].sort());
    expect(await refusal(get(`/_matrix/federation/v1/user/devices/${e(`@alice:${names.b}`)}`))).toEqual({ status: 400, errcode: 'M_INVALID_PARAM' });
  });

  it('answers key queries for local users, without user-signing keys', async () => {
    const answer = await post('/_matrix/federation/v1/user/keys/query', { device_keys: { [alice.userId]: [aliceDevice] } }) as Body;
    expect(Object.keys(answer.device_keys[alice.userId])).toEqual([aliceDevice]);
    expect(answer.device_keys[alice.userId][aliceDevice]).toMatchObject({
      device_id: aliceDevice, unsigned: { device_display_name: 'Alice\'s laptop' },
    });
    expect(answer.master_keys[alice.userId]).toMatchObject({ usage: ['master'] });
    expect(answer.self_signing_keys[alice.userId]).toMatchObject({ usage: ['self_signing'] });
    expect(answer).not.toHaveProperty('user_signing_keys');
    expect(await refusal(post('/_matrix/federation/v1/user/keys/query', { device_keys: { [`@carol:${names.b}`]: [] } })))
      .toEqual({ status: 400, errcode: 'M_INVALID_PARAM' });
    expect(await refusal(post('/_matrix/federation/v1/user/keys/query', { device_keys: [] }))).toEqual({ status: 400, errcode: 'M_BAD_JSON' });
    const tooMany = Object.fromEntries(Array.from({ length: 10_001 }, (_, i) => [`@u${i}:${names.a}`, []]));
    expect(await refusal(post('/_matrix/federation/v1/user/keys/query', { device_keys: tooMany }))).toEqual({ status: 413, errcode: 'M_TOO_LARGE' });
  });

  it('hands out a one-time key once, within the count bound', async () => {
    const claim = { one_time_keys: { [alice.userId]: { [aliceDevice]: 'signed_curve25519' } } };
    const first = await post('/_matrix/federation/v1/user/keys/claim', claim) as Body;
    expect(first.one_time_keys[alice.userId][aliceDevice]['signed_curve25519:AAAAAQ']).toMatchObject({ key: 'b25lIHRpbWUga2V5' });
    expect(await post('/_matrix/federation/v1/user/keys/claim', claim)).toEqual({ one_time_keys: {} });
    expect(await refusal(post('/_matrix/federation/v1/user/keys/claim', { one_time_keys: { [`@carol:${names.b}`]: { DEV: 'signed_curve25519' } } })))
      .toEqual({ status: 400, errcode: 'M_INVALID_PARAM' });
    const devices = Object.fromEntries(Array.from({ length: 5_001 }, (_, i) => [`D${i}`, 'signed_curve25519']));
    expect(await refusal(post('/_matrix/federation/v1/user/keys/claim', { one_time_keys: { [alice.userId]: devices } })))
      .toEqual({ status: 413, errcode: 'M_TOO_LARGE' });
  });

  it('exchanges an OpenID token for its user, without a signature (openid.yaml has no security)', async () => {
    const token = await alice.post(`/user/${e(alice.userId)}/openid/request_token`, {});
    const answer = await fetch(`${a.url}/_matrix/federation/v1/openid/userinfo?access_token=${e(token.access_token as string)}`);
    expect({ status: answer.status, body: await answer.json() }).toEqual({ status: 200, body: { sub: alice.userId } });
    const unknown = await fetch(`${a.url}/_matrix/federation/v1/openid/userinfo?access_token=nope`);
    expect({ status: unknown.status, body: await unknown.json() }).toMatchObject({ status: 401, body: { errcode: 'M_UNKNOWN_TOKEN' } });
    // Signed works as well: servers that check tokens send the request through their client.
    expect(await get(`/_matrix/federation/v1/openid/userinfo?access_token=${e(token.access_token as string)}`)).toEqual({ sub: alice.userId });
  });

  it('lists the public rooms, by GET and by POST with a filter', async () => {
    const listed = await get('/_matrix/federation/v1/publicRooms?limit=10') as Body;
    expect(listed.chunk).toContainEqual(expect.objectContaining({ room_id: roomId, name: 'Lobby', canonical_alias: `#lobby:${names.a}` }));
    expect((await post('/_matrix/federation/v1/publicRooms', { filter: { generic_search_term: 'Lobby' } }) as Body).chunk)
      .toEqual([expect.objectContaining({ room_id: roomId })]);
    expect((await post('/_matrix/federation/v1/publicRooms', { filter: { generic_search_term: 'nothing-like-it' } }) as Body).chunk).toEqual([]);
    expect(await refusal(get('/_matrix/federation/v1/publicRooms?limit=-1'))).toEqual({ status: 400, errcode: 'M_INVALID_PARAM' });
    expect(await refusal(get('/_matrix/federation/v1/publicRooms?since=garbage'))).toEqual({ status: 400, errcode: 'M_INVALID_PARAM' });
  });
});
