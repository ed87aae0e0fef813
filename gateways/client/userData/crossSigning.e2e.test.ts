// Cross-signing end to end (client-server-api § Cross-signing, cross_signing.yaml, keys.yaml):
// key and signature uploads with real ed25519 keys, the checks the server makes, UIA, and what
// /keys/query and /sync show afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../domain/index.ts';
import { MatrixClient, PASSWORD, e, startTestServer, type Body, type TestServer, type UserClient } from '../../../test/harness/index.ts';
import { crossSigningKey, deviceKeys, generateTestKeyPair, signAs, type TestKeyPair } from '../../../test/fixtures/index.ts';

interface CrossSigningUser {
  readonly client: UserClient;
  readonly device: TestKeyPair;
  readonly master: TestKeyPair;
  readonly selfSigning: TestKeyPair;
  readonly userSigning: TestKeyPair;
  readonly keys: { master_key: JsonObject; self_signing_key: JsonObject; user_signing_key: JsonObject };
}

const keyId = (pair: TestKeyPair): string => `ed25519:${pair.publicKey}`;

/** Fresh cross-signing keys for `client`: the master key signs the other two. */
const newKeys = (client: UserClient) => {
  const master = generateTestKeyPair();
  const selfSigning = generateTestKeyPair();
  const userSigning = generateTestKeyPair();
  const userId = client.userId;
  return {
    master, selfSigning, userSigning,
    keys: {
      master_key: crossSigningKey(userId, 'master', master),
      self_signing_key: signAs(crossSigningKey(userId, 'self_signing', selfSigning), userId, keyId(master), master),
      user_signing_key: signAs(crossSigningKey(userId, 'user_signing', userSigning), userId, keyId(master), master),
    },
  };
};

describe('cross-signing', () => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: CrossSigningUser;
  let bob: CrossSigningUser;
  let carol: UserClient;

  /** Registers a user, uploads signed device keys, then a first set of cross-signing keys (no UIA needed). */
  const setUp = async (name: string): Promise<CrossSigningUser> => {
    const user = client.as(await client.register(name));
    const device = generateTestKeyPair();
    await user.post('/keys/upload', { device_keys: deviceKeys(user.userId, user.session.deviceId, device) });
    const fresh = newKeys(user);
    expect(await user.post('/keys/device_signing/upload', fresh.keys)).toEqual({});
    return { client: user, device, ...fresh };
  };

  const query = (asUser: UserClient, userId: string): Promise<Body> => asUser.post('/keys/query', { device_keys: { [userId]: [] } });

  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded' });
    client = new MatrixClient(server.url);
    alice = await setUp('alice');
    bob = await setUp('bob');
    carol = client.as(await client.register('carol'));
  });
  afterAll(() => server?.stop());

  it('serves the uploaded keys in /keys/query, the user-signing key to its owner only', async () => {
    const own = await query(alice.client, alice.client.userId);
    expect(own.master_keys).toEqual({ [alice.client.userId]: alice.keys.master_key });
    expect(own.self_signing_keys).toEqual({ [alice.client.userId]: alice.keys.self_signing_key });
    expect(own.user_signing_keys).toEqual({ [alice.client.userId]: alice.keys.user_signing_key });
    const byBob = await query(bob.client, alice.client.userId);
    expect(byBob.master_keys).toEqual({ [alice.client.userId]: alice.keys.master_key });
    expect(byBob.self_signing_keys).toEqual({ [alice.client.userId]: alice.keys.self_signing_key });
    expect(byBob.user_signing_keys).toEqual({});
    expect((await query(carol, carol.userId)).master_keys).toEqual({});
  });

  it('refuses malformed keys and keys not signed by the master key', async () => {
    const userId = carol.userId;
    const master = generateTestKeyPair();
    const other = generateTestKeyPair();
    const upload = (body: Body, expected: { status: number; errcode: string }) =>
      carol.fails('POST', '/keys/device_signing/upload', expected, { json: body });
    await upload({ master_key: crossSigningKey(alice.client.userId, 'master', master) }, { status: 400, errcode: 'M_INVALID_PARAM' });
    await upload({ master_key: crossSigningKey(userId, 'self_signing', master) }, { status: 400, errcode: 'M_INVALID_PARAM' });
    await upload({ master_key: { ...crossSigningKey(userId, 'master', master), keys: { [keyId(master)]: master.publicKey, [keyId(other)]: other.publicKey } } },
      { status: 400, errcode: 'M_INVALID_PARAM' });
    // No master key stored nor uploaded.
    await upload({ self_signing_key: signAs(crossSigningKey(userId, 'self_signing', other), userId, keyId(master), master) },
      { status: 400, errcode: 'M_MISSING_PARAM' });
    await upload({
      master_key: crossSigningKey(userId, 'master', master),
      self_signing_key: signAs(crossSigningKey(userId, 'self_signing', other), userId, keyId(other), other),
    }, { status: 400, errcode: 'M_INVALID_SIGNATURE' });
    // A signature of other content does not count either.
    const signedElse = signAs(crossSigningKey(userId, 'user_signing', master), userId, keyId(master), master);
    await upload({
      master_key: crossSigningKey(userId, 'master', master),
      user_signing_key: { ...crossSigningKey(userId, 'user_signing', other), signatures: signedElse.signatures! },
    }, { status: 400, errcode: 'M_INVALID_SIGNATURE' });
    expect((await query(carol, userId)).master_keys).toEqual({});
  });

  it('refuses a cross-signing key whose public key is one of the user\'s device ids', async () => {
    const pair = generateTestKeyPair();
    const dave = client.as(await client.register('dave'));
    await client.login('dave', { deviceId: pair.publicKey });
    await dave.fails('POST', '/keys/device_signing/upload', { status: 403, errcode: 'M_FORBIDDEN' },
      { json: { master_key: crossSigningKey(dave.userId, 'master', pair) } });
  });

  it('accepts a repeat of the stored keys without UIA but asks for the password to replace them', async () => {
    const erin = client.as(await client.register('erin'));
    const first = newKeys(erin);
    expect(await erin.post('/keys/device_signing/upload', first.keys)).toEqual({});
    expect(await erin.post('/keys/device_signing/upload', first.keys)).toEqual({});
    expect(await erin.post('/keys/device_signing/upload', { master_key: first.keys.master_key })).toEqual({});
    const second = newKeys(erin);
    const challenge = await erin.request('POST', '/keys/device_signing/upload', { json: second.keys });
    expect(challenge.status).toBe(401);
    expect(challenge.body).toMatchObject({ flows: [{ stages: ['m.login.password'] }], session: expect.any(String) });
    const session = challenge.body.session as string;
    const identifier = { type: 'm.id.user', user: erin.userId };
    const wrong = await erin.request('POST', '/keys/device_signing/upload', {
      json: { ...second.keys, auth: { type: 'm.login.password', identifier, password: 'wrong', session } },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ errcode: 'M_FORBIDDEN', session });
    expect((await query(erin, erin.userId)).master_keys[erin.userId]).toEqual(first.keys.master_key);
    expect(await erin.post('/keys/device_signing/upload', {
      ...second.keys, auth: { type: 'm.login.password', identifier, password: PASSWORD, session },
    })).toEqual({});
    const after = await query(erin, erin.userId);
    expect(after.master_keys[erin.userId]).toEqual(second.keys.master_key);
    expect(after.user_signing_keys[erin.userId]).toEqual(second.keys.user_signing_key);
    // The completed session authorised that one upload only.
    const third = newKeys(erin);
    await erin.fails('POST', '/keys/device_signing/upload', { status: 400, errcode: 'M_UNKNOWN' }, {
      json: { ...third.keys, auth: { type: 'm.login.password', identifier, password: PASSWORD, session } },
    });
  });

  it('stores signatures of own devices and master key, and merges them into /keys/query', async () => {
    const userId = alice.client.userId;
    const deviceId = alice.client.session.deviceId;
    const stored = (await query(alice.client, userId)).device_keys[userId][deviceId] as JsonObject;
    const { unsigned: _unsigned, ...signedPart } = stored;
    const signedDevice = signAs(signedPart, userId, keyId(alice.selfSigning), alice.selfSigning);
    const signedMaster = signAs(alice.keys.master_key, userId, `ed25519:${deviceId}`, alice.device);
    expect(await alice.client.post('/keys/signatures/upload', {
      [userId]: { [deviceId]: signedDevice, [alice.master.publicKey]: signedMaster },
    })).toEqual({ failures: {} });
    for (const viewer of [alice.client, bob.client]) {
      const seen = await query(viewer, userId);
      expect(seen.device_keys[userId][deviceId].signatures[userId]).toEqual((signedDevice.signatures as Body)[userId]);
      expect(seen.master_keys[userId]).toEqual(signedMaster);
    }
  });

  it('reports bad signatures per key under failures and stores the good ones', async () => {
    const userId = alice.client.userId;
    const deviceId = alice.client.session.deviceId;
    const device = (await query(alice.client, userId)).device_keys[userId][deviceId] as JsonObject;
    const { unsigned: _unsigned, ...signedPart } = device;
    const impostor = generateTestKeyPair();
    const reply = await alice.client.post('/keys/signatures/upload', {
      [userId]: {
        // Signed by a key that claims to be the self-signing key.
        [deviceId]: signAs(signedPart, userId, keyId(alice.selfSigning), impostor),
        UNKNOWN: signAs({ ...signedPart, device_id: 'UNKNOWN' }, userId, keyId(alice.selfSigning), alice.selfSigning),
      },
      [bob.client.userId]: {
        // alice's device key is not her user-signing key.
        [bob.master.publicKey]: signAs(bob.keys.master_key, userId, `ed25519:${deviceId}`, alice.device),
      },
    });
    expect(reply.failures).toEqual({
      [userId]: {
        [deviceId]: { errcode: 'M_INVALID_SIGNATURE', error: expect.any(String) },
        UNKNOWN: { errcode: 'M_NOT_FOUND', error: expect.any(String) },
      },
      [bob.client.userId]: { [bob.master.publicKey]: { errcode: 'M_INVALID_SIGNATURE', error: expect.any(String) } },
    });
    // A signed object that differs from the stored key is refused even with a valid signature.
    const changed = signAs({ ...signedPart, algorithms: ['m.megolm.v1.aes-sha2'] }, userId, keyId(alice.selfSigning), alice.selfSigning);
    const mismatch = await alice.client.post('/keys/signatures/upload', { [userId]: { [deviceId]: changed } });
    expect(mismatch.failures[userId][deviceId].errcode).toBe('M_INVALID_PARAM');
  });

  it('shows a signature of another user\'s master key to its signer only', async () => {
    const aliceId = alice.client.userId;
    const bobId = bob.client.userId;
    const signed = signAs(bob.keys.master_key, aliceId, keyId(alice.userSigning), alice.userSigning);
    expect(await alice.client.post('/keys/signatures/upload', { [bobId]: { [bob.master.publicKey]: signed } })).toEqual({ failures: {} });
    expect((await query(alice.client, bobId)).master_keys[bobId]).toEqual(signed);
    expect((await query(bob.client, bobId)).master_keys[bobId]).toEqual(bob.keys.master_key);
    expect((await query(carol, bobId)).master_keys[bobId]).toEqual(bob.keys.master_key);
  });

  it('puts a user whose cross-signing keys changed into device_lists.changed of users sharing a room', async () => {
    const roomId = await alice.client.createRoom({ preset: 'public_chat' });
    await carol.post(`/join/${e(roomId)}`);
    const since = (await carol.sync()).next_batch as string;
    const fresh = newKeys(alice.client);
    // Password auth may come on the first request: the session starts and completes at once.
    await alice.client.post('/keys/device_signing/upload', {
      ...fresh.keys, auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.client.userId }, password: PASSWORD },
    });
    const synced = await carol.syncUntil((response) => (response.device_lists?.changed ?? []).includes(alice.client.userId), { since });
    expect(synced.device_lists.changed).toContain(alice.client.userId);
    expect((await query(carol, alice.client.userId)).master_keys[alice.client.userId]).toEqual(fresh.keys.master_key);
  });
});
