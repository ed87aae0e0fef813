// GET /keys/changes over HTTP (keys.yaml; client-server-api § Tracking the device list for a user),
// in both deployments: between two /sync tokens, `changed` lists users whose device keys changed
// and users newly sharing a room with the requester; `left` those who share no room any more.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer, type UserClient } from '../harness/index.ts';

const changedOf = (sync: Body): string[] => (sync.device_lists?.changed ?? []) as string[];
const leftOf = (sync: Body): string[] => (sync.device_lists?.left ?? []) as string[];
const joinedRoomsOf = (sync: Body): string[] => Object.keys(sync.rooms?.join ?? {});

describe.each<ServerMode>(['embedded', 'distributed'])('GET /keys/changes (%s)', (mode) => {
  let server: TestServer;
  let alice: UserClient;
  let bob: UserClient;
  let carol: UserClient;
  let dave: UserClient;
  /** alice's room, the only one she shares with bob. */
  let hall: string;
  /** alice's and bob's /sync positions once both are in the hall. */
  let aliceStart: string;
  let bobStart: string;
  const keysChanges = (user: UserClient, from: string, to: string): Promise<Body> => user.get('/keys/changes', { from, to });

  beforeAll(async () => {
    server = await startTestServer({ mode });
    const client = new MatrixClient(server.url);
    [alice, bob, carol, dave] = await Promise.all(['alice', 'bob', 'carol', 'dave'].map(async (name) => client.as(await client.register(name))));
    hall = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${e(hall)}`);
    aliceStart = (await alice.syncUntil((sync) => JSON.stringify(sync.rooms?.join?.[hall] ?? {}).includes(bob.userId))).next_batch as string;
    bobStart = (await bob.syncUntil((sync) => joinedRoomsOf(sync).includes(hall))).next_batch as string;
  });
  afterAll(() => server?.stop());

  it('lists a room-mate who uploads device keys, and only in the window of the upload', async () => {
    await bob.post('/keys/upload', {
      device_keys: {
        user_id: bob.userId, device_id: bob.session.deviceId, algorithms: ['m.olm.v1.curve25519-aes-sha2'],
        keys: { [`curve25519:${bob.session.deviceId}`]: 'Y3U', [`ed25519:${bob.session.deviceId}`]: 'ZWQ' }, signatures: {},
      },
    });
    const after = (await alice.syncUntil((sync) => changedOf(sync).includes(bob.userId), { since: aliceStart })).next_batch as string;
    expect(await keysChanges(alice, aliceStart, after)).toEqual({ changed: [bob.userId], left: [] });
    expect(await keysChanges(alice, after, after)).toEqual({ changed: [], left: [] });
    // carol shares no room with bob: his keys are none of her business.
    const carolNow = (await carol.sync()).next_batch as string;
    expect((await keysChanges(carol, aliceStart, carolNow)).changed).not.toContain(bob.userId);
  });

  it('lists a user who joins the requester\'s room, and the members of a room the requester joins', async () => {
    const from = (await alice.sync()).next_batch as string;
    await carol.post(`/join/${e(hall)}`);
    const carolIn = (await alice.syncUntil((sync) => changedOf(sync).includes(carol.userId), { since: from })).next_batch as string;
    expect(await keysChanges(alice, from, carolIn)).toEqual({ changed: [carol.userId], left: [] });

    const lounge = await dave.createRoom({ preset: 'public_chat' });
    await alice.post(`/join/${e(lounge)}`);
    const inLounge = (await alice.syncUntil((sync) => joinedRoomsOf(sync).includes(lounge), { since: carolIn })).next_batch as string;
    expect(await keysChanges(alice, carolIn, inLounge)).toEqual({ changed: [dave.userId], left: [] });
    // carol's view of the same join: alice was already a room-mate, so carol learns nothing.
    expect((await keysChanges(carol, carolIn, inLounge)).changed).not.toContain(alice.userId);
  });

  it('lists in `left`, not `changed`, a user who leaves the only room shared with the requester', async () => {
    const from = (await alice.sync()).next_batch as string;
    const bobFrom = (await bob.sync()).next_batch as string;
    await bob.post(`/rooms/${e(hall)}/leave`);
    const gone = (await alice.syncUntil((sync) => leftOf(sync).includes(bob.userId), { since: from })).next_batch as string;
    expect(await keysChanges(alice, from, gone)).toEqual({ changed: [], left: [bob.userId] });
    // Over the whole test: bob changed his keys, then left; carol and dave newly share a room.
    const overall = await keysChanges(alice, aliceStart, gone);
    expect(overall.left).toEqual([bob.userId]);
    expect(overall.changed.sort()).toEqual([carol.userId, dave.userId].sort());
    // bob left: alice and carol share nothing with him any more.
    const bobGone = (await bob.syncUntil((sync) => Object.keys(sync.rooms?.leave ?? {}).includes(hall), { since: bobFrom })).next_batch as string;
    expect(await keysChanges(bob, bobFrom, bobGone)).toEqual({ changed: [], left: expect.arrayContaining([alice.userId, carol.userId]) });
    expect((await keysChanges(bob, bobStart, bobGone)).left).toHaveLength(2);
  });

  it('refuses a missing token with M_MISSING_PARAM and a token /sync did not give with M_INVALID_PARAM', async () => {
    // Synapse's answers, which getKeysChanges (documenting only 200) leaves out: kept out of the
    // spec check (STRATA_VALIDATE_SPEC), as the harness client would record them.
    const refused = async (query: Record<string, string>, errcode: string): Promise<void> => {
      const response = await fetch(`${server.url}/_matrix/client/v3/keys/changes?${new URLSearchParams(query).toString()}`, {
        headers: { authorization: `Bearer ${alice.session.accessToken}` },
      });
      expect([response.status, ((await response.json()) as Body).errcode]).toEqual([400, errcode]);
    };
    await refused({}, 'M_MISSING_PARAM');
    await refused({ from: aliceStart }, 'M_MISSING_PARAM');
    await refused({ to: aliceStart }, 'M_MISSING_PARAM');
    await refused({ from: 'x', to: aliceStart }, 'M_INVALID_PARAM');
    await refused({ from: aliceStart, to: '12' }, 'M_INVALID_PARAM');
    await alice.client.fails('GET', '/keys/changes', { status: 401, errcode: 'M_MISSING_TOKEN' }, { query: { from: aliceStart, to: aliceStart } });
  });
});
