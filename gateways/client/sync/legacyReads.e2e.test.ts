// What older clients still call, over HTTP in both deployments: the r0 and unstable aliases of
// stable endpoints, POST /send without a transaction id, presence of users who never set it, and
// the deprecated /initialSync + /events flow (old_sync.yaml, room_initial_sync.yaml), as Synapse.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crossSigningKey, generateTestKeyPair, signAs } from '../../../test/fixtures/index.ts';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../../../test/harness/index.ts';

const V3 = '/_matrix/client/v3/';
const R0 = '/_matrix/client/r0/';

describe.each<ServerMode>(['embedded', 'distributed'])('legacy reads and aliases (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let bob: UserClient;

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    [alice, bob] = await Promise.all(['alice', 'bob'].map(async (name) => client.as(await client.register(name))));
  });
  afterAll(() => server?.stop());

  it('serves every v3 route under r0 too, as Synapse registers its v3 servlets', () => {
    const routes = new Set(server.routes);
    const v3 = server.routes.filter((route) => route.split(' ')[1]!.startsWith(V3));
    expect(v3.length).toBeGreaterThan(100);
    expect(v3.filter((route) => !routes.has(route.replace(V3, R0)))).toEqual([]);
    for (const path of ['/keys/device_signing/upload', '/keys/signatures/upload', '/room_keys/version', '/room_keys/keys/:roomId/:sessionId']) {
      expect(server.routes.some((route) => route.endsWith(` /_matrix/client/unstable${path}`))).toBe(true);
    }
  });

  it('takes cross-signing keys, signatures and key backups under /unstable as matrix-js-sdk still sends them', async () => {
    const master = generateTestKeyPair();
    const selfSigning = generateTestKeyPair();
    const userSigning = generateTestKeyPair();
    const masterId = `ed25519:${master.publicKey}`;
    // Uploading more than a master key the first time asks for user-interactive auth, as under v3.
    const upload = {
      master_key: crossSigningKey(alice.userId, 'master', master),
      self_signing_key: signAs(crossSigningKey(alice.userId, 'self_signing', selfSigning), alice.userId, masterId, master),
      user_signing_key: signAs(crossSigningKey(alice.userId, 'user_signing', userSigning), alice.userId, masterId, master),
    };
    expect(await alice.post('/_matrix/client/unstable/keys/device_signing/upload', upload)).toEqual({});
    const keys = await bob.post('/keys/query', { device_keys: { [alice.userId]: [] } });
    expect(keys.master_keys[alice.userId].keys).toEqual({ [masterId]: master.publicKey });
    expect(await alice.post('/_matrix/client/unstable/keys/signatures/upload', {})).toEqual({ failures: {} });
    await alice.fails('GET', '/_matrix/client/unstable/room_keys/version', { status: 404, errcode: 'M_NOT_FOUND' });
    const { version } = await alice.post('/_matrix/client/unstable/room_keys/version', {
      algorithm: 'm.megolm_backup.v1.curve25519-aes-sha2', auth_data: { public_key: 'abc' },
    });
    expect((await alice.get('/room_keys/version')).version).toBe(version);
  });

  it('sends with POST /send without a transaction id: each POST is a new event', async () => {
    const room = await alice.createRoom({ preset: 'private_chat' });
    const content = { msgtype: 'm.text', body: 'same words' };
    const first = (await alice.post(`/rooms/${e(room)}/send/m.room.message`, content)).event_id as string;
    const second = (await alice.post(`/_matrix/client/r0/rooms/${e(room)}/send/m.room.message`, content)).event_id as string;
    expect(first).not.toBe(second);
    const page = await alice.get(`/rooms/${e(room)}/messages`, { dir: 'b', limit: 2 });
    expect((page.chunk as Body[]).map((event) => event.event_id)).toEqual([second, first]);
    expect((await alice.get(`/rooms/${e(room)}/event/${e(first)}`)).content).toEqual(content);
    await alice.fails('POST', `/rooms/${e(room)}/send/m.room.message`, { status: 400, errcode: 'M_NOT_JSON' }, { raw: '{nope' });
  });

  it('answers offline for a user who never set presence, and refuses users nobody shares a room with', async () => {
    const dave = client.as(await client.register('dave'));
    const room = await dave.createRoom({ preset: 'public_chat' });
    await alice.post(`/join/${e(room)}`, {});
    // Dave registered and created a room but never synced nor set a presence.
    expect(await alice.get(`/presence/${e(dave.userId)}/status`)).toEqual({ presence: 'offline' });
    // Synapse refuses presence of users the requester shares no room with, known or not.
    await bob.fails('GET', `/presence/${e(dave.userId)}/status`, { status: 403, errcode: 'M_FORBIDDEN' });
    await bob.fails('GET', `/presence/${e(`@nobody:${server.serverName}`)}/status`, { status: 403, errcode: 'M_FORBIDDEN' });
  });
});
