// Device-list tracking over HTTP (client-server-api § Tracking the device list for a user;
// server-server-api § Device Management), in both deployments: every way a user's devices change —
// a new login, a rename, a deletion (DELETE /devices/{id}, POST /delete_devices, /logout,
// /logout/all), device keys, cross-signing keys and signatures — puts the user in
// `device_lists.changed` of the /sync of everyone sharing a room with them and of their own other
// devices, and `GET /keys/changes` over the same window agrees; a device created, renamed or deleted
// is announced to the servers sharing a room with an m.device_list_update, keys uploaded or not.
// `device_lists.left` lists a user once the last shared room is left, by either side.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../domain/index.ts';
import { MatrixClient, PASSWORD, e, type Body, type ServerMode, type UserClient } from '../harness/index.ts';
import { startHostileRoom, type HostileRoom } from '../harness/hostileRoom.ts';
import { crossSigningKey, deviceKeys, generateTestKeyPair, signAs } from '../fixtures/index.ts';

const changedOf = (sync: Body): string[] => (sync.device_lists?.changed ?? []) as string[];
const leftOf = (sync: Body): string[] => (sync.device_lists?.left ?? []) as string[];

describe.each<ServerMode>(['embedded', 'distributed'])('device-list changes (%s)', (mode) => {
  // Alice's room "Fortress" with the fake remote server's Mallory in it (test/harness/hostileRoom.ts).
  let h: HostileRoom;
  let client: MatrixClient;
  let bob: UserClient;
  let alice: UserClient;

  /** The m.device_list_update EDUs the remote server received for `userId`'s `deviceId`. */
  const deviceListUpdates = (userId: string, deviceId: string): JsonObject[] => h.remote.received
    .filter((request) => request.method === 'PUT' && request.path.startsWith('/_matrix/federation/v1/send/'))
    .flatMap((request) => ((request.body as Body | undefined)?.edus ?? []) as Body[])
    .filter((edu) => edu.edu_type === 'm.device_list_update' && edu.content?.user_id === userId && edu.content?.device_id === deviceId)
    .map((edu) => edu.content as JsonObject);

  /** Waits until the remote server got an m.device_list_update for the device that `matches`. */
  const expectUpdateSent = async (userId: string, deviceId: string, matches: (content: JsonObject) => boolean): Promise<JsonObject> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const found = deviceListUpdates(userId, deviceId).find(matches);
      if (found !== undefined) return found;
      if (Date.now() > deadline) {
        throw new Error(`no matching m.device_list_update for ${userId} ${deviceId}: ${JSON.stringify(deviceListUpdates(userId, deviceId))}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  /**
   * Runs `change` and answers, for each viewer, that the viewer's /sync from before it lists
   * `userId` in `device_lists.changed`, and that /keys/changes over the same window does too.
   */
  const expectChangedFor = async (viewers: readonly UserClient[], userId: string, change: () => Promise<unknown>): Promise<void> => {
    const from = await Promise.all(viewers.map(async (viewer) => (await viewer.sync({ timeout: 0 })).next_batch as string));
    await change();
    await Promise.all(viewers.map(async (viewer, i) => {
      const seen = await viewer.syncUntil((sync) => changedOf(sync).includes(userId), { since: from[i]! });
      expect(leftOf(seen)).not.toContain(userId);
      const changes = await viewer.get('/keys/changes', { from: from[i]!, to: seen.next_batch as string });
      expect(changes.changed).toContain(userId);
      expect(changes.left).not.toContain(userId);
    }));
  };

  /** The password user-interactive auth a device deletion needs, for `user`. */
  const passwordAuth = async (user: UserClient, method: string, path: string, json: Body): Promise<Body> => {
    const challenge = await user.request(method, path, { json });
    expect(challenge.status).toBe(401);
    return {
      ...json,
      auth: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: PASSWORD, session: challenge.body.session },
    };
  };

  const login = async (user: UserClient, displayName?: string): Promise<UserClient> => client.as(await (async () => {
    const body = await client.ok('POST', '/login', {
      json: {
        type: 'm.login.password', identifier: { type: 'm.id.user', user: user.userId }, password: PASSWORD,
        ...(displayName === undefined ? {} : { initial_device_display_name: displayName }),
      },
    });
    return { userId: body.user_id as string, accessToken: body.access_token as string, deviceId: body.device_id as string };
  })());

  beforeAll(async () => {
    h = await startHostileRoom(mode);
    alice = h.alice;
    client = alice.client;
    bob = client.as(await client.register('bob'));
    await bob.post(`/join/${e(h.room)}`);
  }, 120_000);
  afterAll(() => h?.stop());

  it('lists a user after a new login, for room-mates and the user\'s other devices, and announces the device with its name', async () => {
    let phone: UserClient | undefined;
    await expectChangedFor([alice, bob], bob.userId, async () => {
      phone = await login(bob, 'Phone');
    });
    const update = await expectUpdateSent(bob.userId, phone!.session.deviceId, (content) => content.deleted === false);
    expect(update).toMatchObject({ device_display_name: 'Phone', stream_id: expect.any(Number), prev_id: expect.any(Array) });
    expect(update.keys).toBeUndefined();
  });

  it('lists a user after a device rename, and announces the new name', async () => {
    const deviceId = bob.session.deviceId;
    await expectChangedFor([alice, bob], bob.userId, () => bob.put(`/devices/${e(deviceId)}`, { display_name: 'Desk' }));
    await expectUpdateSent(bob.userId, deviceId, (content) => content.device_display_name === 'Desk');
    // Setting no display name changes nothing, and is no change.
    const from = (await alice.sync({ timeout: 0 })).next_batch as string;
    await bob.put(`/devices/${e(deviceId)}`, {});
    const quiet = await alice.sync({ since: from, timeout: 500 });
    expect(changedOf(quiet)).not.toContain(bob.userId);
  });

  it('lists a user after device keys, cross-signing keys and signatures are uploaded', async () => {
    const device = generateTestKeyPair();
    const deviceId = bob.session.deviceId;
    const uploaded = deviceKeys(bob.userId, deviceId, device);
    await expectChangedFor([alice, bob], bob.userId, () => bob.post('/keys/upload', { device_keys: uploaded }));
    const withKeys = await expectUpdateSent(bob.userId, deviceId, (content) => content.keys !== undefined);
    expect((withKeys.keys as Body).keys).toEqual((uploaded.keys as Body));

    const master = generateTestKeyPair();
    const selfSigning = generateTestKeyPair();
    const masterId = `ed25519:${master.publicKey}`;
    await expectChangedFor([alice, bob], bob.userId, () => bob.post('/keys/device_signing/upload', {
      master_key: crossSigningKey(bob.userId, 'master', master),
      self_signing_key: signAs(crossSigningKey(bob.userId, 'self_signing', selfSigning), bob.userId, masterId, master),
    }));
    const signed = signAs(uploaded, bob.userId, `ed25519:${selfSigning.publicKey}`, selfSigning);
    await expectChangedFor([alice, bob], bob.userId, async () => {
      expect(await bob.post('/keys/signatures/upload', { [bob.userId]: { [deviceId]: signed } })).toEqual({ failures: {} });
    });
  });

  it('lists a user after each way a device is deleted, and announces each deletion', async () => {
    const deleted: string[] = [];
    const one = await login(bob);
    await expectChangedFor([alice, bob], bob.userId, async () => {
      await bob.client.ok('DELETE', `/devices/${e(one.session.deviceId)}`, {
        token: bob.session.accessToken, json: await passwordAuth(bob, 'DELETE', `/devices/${e(one.session.deviceId)}`, {}),
      });
    });
    deleted.push(one.session.deviceId);

    const two = await login(bob);
    await expectChangedFor([alice, bob], bob.userId, async () => {
      await bob.post('/delete_devices', await passwordAuth(bob, 'POST', '/delete_devices', { devices: [two.session.deviceId] }));
    });
    deleted.push(two.session.deviceId);

    const three = await login(bob);
    await expectChangedFor([alice, bob], bob.userId, () => three.post('/logout'));
    deleted.push(three.session.deviceId);

    // /logout/all: the viewer on bob's side is a device that logs in afresh afterwards.
    const gone = [(await login(bob)).session.deviceId, bob.session.deviceId];
    await expectChangedFor([alice], bob.userId, () => bob.post('/logout/all'));
    deleted.push(...gone);
    bob = await login(bob);

    for (const deviceId of deleted) await expectUpdateSent(bob.userId, deviceId, (content) => content.deleted === true);
    expect((await alice.post('/keys/query', { device_keys: { [bob.userId]: [] } })).device_keys[bob.userId]).toEqual({});
  });

  it('lists in `left` a user whose last shared room is left, by them or by the viewer, and /keys/changes agrees', async () => {
    const carol = client.as(await client.register('carol'));
    const lounge = await carol.createRoom({ preset: 'public_chat' });
    const beforeJoin = (await bob.sync({ timeout: 0 })).next_batch as string;
    await bob.post(`/join/${e(lounge)}`);
    await bob.syncUntil((sync) => changedOf(sync).includes(carol.userId), { since: beforeJoin });

    // carol leaves: bob shares nothing with her any more, and she nothing with him.
    const bobFrom = (await bob.sync({ timeout: 0 })).next_batch as string;
    const carolFrom = (await carol.sync({ timeout: 0 })).next_batch as string;
    await carol.post(`/rooms/${e(lounge)}/leave`);
    const bobSees = await bob.syncUntil((sync) => leftOf(sync).includes(carol.userId), { since: bobFrom });
    expect(changedOf(bobSees)).not.toContain(carol.userId);
    expect(await bob.get('/keys/changes', { from: bobFrom, to: bobSees.next_batch as string })).toEqual({ changed: [], left: [carol.userId] });
    const carolSees = await carol.syncUntil((sync) => leftOf(sync).includes(bob.userId), { since: carolFrom });
    expect((await carol.get('/keys/changes', { from: carolFrom, to: carolSees.next_batch as string })).left).toEqual([bob.userId]);

    // bob leaves alice's room, the only one they share: alice sees him in `left`, he sees her there.
    const aliceFrom = (await alice.sync({ timeout: 0 })).next_batch as string;
    const bobBefore = (await bob.sync({ timeout: 0 })).next_batch as string;
    await bob.post(`/rooms/${e(h.room)}/leave`);
    const aliceSees = await alice.syncUntil((sync) => leftOf(sync).includes(bob.userId), { since: aliceFrom });
    expect((await alice.get('/keys/changes', { from: aliceFrom, to: aliceSees.next_batch as string })).left).toEqual([bob.userId]);
    const bobLeft = await bob.syncUntil((sync) => leftOf(sync).includes(alice.userId), { since: bobBefore });
    expect(leftOf(bobLeft)).not.toContain(bob.userId);
    expect((await bob.get('/keys/changes', { from: bobBefore, to: bobLeft.next_batch as string })).left).toContain(alice.userId);

    // Sharing no room, a new login of bob's is none of alice's business.
    const quietFrom = (await alice.sync({ timeout: 0 })).next_batch as string;
    await login(bob);
    const quiet = await alice.sync({ since: quietFrom, timeout: 500 });
    expect(changedOf(quiet)).not.toContain(bob.userId);
  });
});
