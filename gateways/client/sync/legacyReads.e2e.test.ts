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

  it('/initialSync: presence, receipts and account data (global and per room), limit=0, rooms left frozen at the leave, invites', async () => {
    const carol = client.as(await client.register('carol'));
    const room = await alice.createRoom({ preset: 'public_chat', name: 'Legacy' });
    await bob.post(`/join/${e(room)}`, {});
    const read = await bob.send(room, 'read this');
    await bob.put(`/presence/${e(bob.userId)}/status`, { presence: 'online', status_msg: 'around' });
    await bob.post(`/rooms/${e(room)}/receipt/m.read/${e(read)}`, {});
    await alice.put(`/user/${e(alice.userId)}/account_data/org.example.config`, { colour: 'blue' });
    await alice.put(`/user/${e(alice.userId)}/rooms/${e(room)}/account_data/org.example.room`, { pinned: true });
    await alice.put(`/user/${e(alice.userId)}/rooms/${e(room)}/tags/u.legacy`, { order: 1 });

    const all = await alice.get('/initialSync', { limit: 0 });
    const mine = (all.rooms as Body[]).find((candidate) => candidate.room_id === room)!;
    expect(mine).toMatchObject({ membership: 'join', visibility: 'private', messages: { chunk: [], end: expect.any(String) } });
    expect(mine.state.find((event: Body) => event.type === 'm.room.name').content).toEqual({ name: 'Legacy' });
    expect(mine.account_data).toEqual(expect.arrayContaining([
      { type: 'm.tag', content: { tags: { 'u.legacy': { order: 1 } } } }, { type: 'org.example.room', content: { pinned: true } },
    ]));
    expect(all.account_data).toContainEqual({ type: 'org.example.config', content: { colour: 'blue' } });
    expect((all.presence as Body[]).find((event) => event.content.user_id === bob.userId))
      .toMatchObject({ type: 'm.presence', content: { presence: 'online', status_msg: 'around' } });
    const receipt = (all.receipts as Body[]).find((event) => event.room_id === room)!;
    expect(receipt).toMatchObject({ type: 'm.receipt', content: { [read]: { 'm.read': { [bob.userId]: { ts: expect.any(Number) } } } } });

    const one = await alice.get(`/rooms/${e(room)}/initialSync`);
    expect(one.membership).toBe('join');
    expect((one.messages.chunk as Body[]).at(-1)!.event_id).toBe(read);
    expect((one.presence as Body[]).find((event) => event.content.user_id === bob.userId)).toMatchObject({ content: { presence: 'online' } });
    // Alice never synced nor set presence: offline, Synapse's default state.
    expect((one.presence as Body[]).find((event) => event.content.user_id === alice.userId)).toMatchObject({ content: { presence: 'offline' } });
    expect(one.receipts).toEqual([receipt]);
    expect(one.account_data).toEqual(mine.account_data);

    // Carol joins, speaks and leaves; what follows is not hers to see.
    await carol.post(`/join/${e(room)}`, {});
    const before = await carol.send(room, 'before I go');
    await carol.post(`/rooms/${e(room)}/leave`, {});
    const after = await alice.send(room, 'after carol left');
    await alice.put(`/rooms/${e(room)}/state/m.room.name`, { name: 'Renamed' });
    const other = await alice.createRoom({ preset: 'private_chat', name: 'Invited' });
    await alice.post(`/rooms/${e(other)}/invite`, { user_id: carol.userId });

    const current = await carol.get('/initialSync');
    expect((current.rooms as Body[]).map((entry) => [entry.room_id, entry.membership])).toEqual([[other, 'invite']]);
    expect((current.rooms as Body[])[0]).toMatchObject({ inviter: alice.userId, invite: { type: 'm.room.member', state_key: carol.userId, content: { membership: 'invite' } } });
    const archived = ((await carol.get('/initialSync', { archived: true })).rooms as Body[]).find((entry) => entry.room_id === room)!;
    expect(archived.membership).toBe('leave');
    const ids = (archived.messages.chunk as Body[]).map((event) => event.event_id);
    expect(ids).toContain(before);
    expect(ids).not.toContain(after);
    expect((archived.messages.chunk as Body[]).at(-1)).toMatchObject({ type: 'm.room.member', state_key: carol.userId, content: { membership: 'leave' } });
    expect(archived.state.find((event: Body) => event.type === 'm.room.name').content).toEqual({ name: 'Legacy' });
    const left = await carol.get(`/rooms/${e(room)}/initialSync`);
    expect(left).toMatchObject({ membership: 'leave', presence: [], receipts: [] });
    expect((left.messages.chunk as Body[]).map((event) => event.event_id)).not.toContain(after);
  });

  it('/rooms/{roomId}/initialSync for a peeker: no membership, the receipts, no presence (Synapse\'s is_peeking)', async () => {
    const room = await alice.createRoom({ preset: 'public_chat', initial_state: [
      { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'world_readable' } },
    ] });
    const said = await alice.send(room, 'for all to read');
    await alice.post(`/rooms/${e(room)}/receipt/m.read/${e(said)}`, {});
    const peeker = client.as(await client.register('peeker'));
    const peek = await peeker.get(`/rooms/${e(room)}/initialSync`);
    expect(peek.membership).toBeUndefined();
    expect((peek.messages.chunk as Body[]).at(-1)!.event_id).toBe(said);
    expect(peek.presence).toEqual([]);
    expect(peek.account_data).toEqual([]);
    expect(peek.receipts).toEqual([{ type: 'm.receipt', room_id: room, content: { [said]: { 'm.read': { [alice.userId]: { ts: expect.any(Number) } } } } }]);
  });

  it('serves a legacy client: /initialSync, /events long-polls, join, history, POST /send, and others\' messages and typing', async () => {
    const dave = client.as(await client.register('legacy-dave'));
    const room = await alice.createRoom({ preset: 'private_chat', name: 'Old school', initial_state: [
      { type: 'm.room.history_visibility', state_key: '', content: { history_visibility: 'shared' } },
    ] });
    const history = [await alice.send(room, 'h1'), await alice.send(room, 'h2')];
    const initial = await dave.get('/initialSync');
    expect(initial.rooms).toEqual([]);

    // The stream's first answer is dave's own presence: polling made him online.
    const first = await dave.get('/events', { from: initial.end as string, timeout: 10_000 });
    expect((first.chunk as Body[]).find((event) => event.type === 'm.presence')).toMatchObject({ content: { user_id: dave.userId, presence: 'online' } });
    // Long-polling when the invite comes.
    const poll = dave.get('/events', { from: first.end as string, timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await alice.post(`/rooms/${e(room)}/invite`, { user_id: dave.userId });
    const invited = await poll;
    expect(invited.chunk).toEqual([expect.objectContaining({ type: 'm.room.member', room_id: room, state_key: dave.userId, content: expect.objectContaining({ membership: 'invite' }) })]);

    await dave.post(`/join/${e(room)}`, {});
    const page = await dave.get(`/rooms/${e(room)}/messages`, { dir: 'b', limit: 10 });
    expect((page.chunk as Body[]).filter((event) => event.type === 'm.room.message').map((event) => event.event_id)).toEqual(history.toReversed());
    const sent = (await dave.post(`/rooms/${e(room)}/send/m.room.message`, { msgtype: 'm.text', body: 'hello from 2015' })).event_id as string;

    // Alice answers and types; dave's stream shows his join and message, then hers.
    let from = invited.end as string;
    const seen: Body[] = [];
    const reply = await alice.send(room, 'welcome');
    await alice.put(`/rooms/${e(room)}/typing/${e(alice.userId)}`, { typing: true, timeout: 30_000 });
    const deadline = Date.now() + 20_000;
    while (!(seen.some((event) => event.event_id === reply) && seen.some((event) => event.type === 'm.typing' && (event.content.user_ids as string[]).includes(alice.userId)))) {
      expect(Date.now()).toBeLessThan(deadline);
      const next = await dave.get('/events', { from, timeout: 5_000 });
      seen.push(...(next.chunk as Body[]));
      from = next.end as string;
    }
    const ids = seen.map((event) => event.event_id);
    expect(ids.indexOf(sent)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(sent)).toBeLessThan(ids.indexOf(reply));
    expect(seen.find((event) => event.type === 'm.room.member' && event.state_key === dave.userId && event.content.membership === 'join')).toBeDefined();
    expect(seen.find((event) => event.event_id === reply)).toMatchObject({ room_id: room, sender: alice.userId, content: { body: 'welcome' } });
    expect(seen.find((event) => event.type === 'm.typing')).toMatchObject({ room_id: room, content: { user_ids: [alice.userId] } });
    // Joining made dave share a room with alice: her presence came with it.
    expect(seen.some((event) => event.type === 'm.presence' && event.content.user_id === alice.userId)).toBe(true);
    await alice.put(`/rooms/${e(room)}/typing/${e(alice.userId)}`, { typing: false });
  });
});
