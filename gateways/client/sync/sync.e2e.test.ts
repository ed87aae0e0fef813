// /sync over HTTP against the whole server (infra/strata.ts) in both deployments: the embedded log
// and PGlite, and Kafka and PostgreSQL (client-server-api § Syncing, sync.yaml).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, type Body, type ServerMode, type TestServer } from '../../../test/harness/index.ts';
import { syncTestClient, V3, type SyncSession, type SyncTestClient } from '../../../test/harness/index.ts';

describe.each<ServerMode>(['embedded', 'distributed'])('/sync (%s)', (mode) => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: SyncSession;
  let bob: SyncSession;
  let carol: SyncSession;
  let hall: string;
  let ok: SyncTestClient['ok'];
  let call: SyncTestClient['call'];
  let register: SyncTestClient['register'];

  const sync = async (who: SyncSession, params: Record<string, string | number | boolean> = {}): Promise<Body> => {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]): [string, string] => [k, String(v)])).toString();
    return ok('GET', `${V3}/sync${query === '' ? '' : `?${query}`}`, who.token);
  };
  const send = async (who: SyncSession, roomId: string, body: string, txnId = `${Math.random()}`): Promise<string> =>
    (await ok('PUT', `${V3}/rooms/${e(roomId)}/send/m.room.message/${txnId}`, who.token, { msgtype: 'm.text', body })).event_id as string;
  const bodies = (events: Body[]): string[] => events.filter((ev) => ev.type === 'm.room.message').map((ev) => ev.content.body as string);

  beforeAll(async () => {
    server = await startTestServer({ mode });
    client = new MatrixClient(server.url);
    const http = syncTestClient(client);
    ({ ok, call, register } = http);
    alice = await register('alice');
    bob = await register('bob');
    carol = await register('carol');
  });
  afterAll(() => server?.stop());

  it('refuses requests without a valid token and malformed since tokens', async () => {
    const missing = await call('GET', `${V3}/sync`);
    expect([missing.status, missing.body.errcode]).toEqual([401, 'M_MISSING_TOKEN']);
    const unknown = await call('GET', `${V3}/sync`, 'nope');
    expect([unknown.status, unknown.body.errcode]).toEqual([401, 'M_UNKNOWN_TOKEN']);
    const bad = await call('GET', `${V3}/sync?since=garbage`, alice.token);
    expect([bad.status, bad.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    expect((await call('GET', '/_matrix/client/r0/sync', alice.token)).status).toBe(200);
  });

  it('shows an invite with stripped state, then the joined room with timeline, state, summary and unread counts', async () => {
    hall = (await ok('POST', `${V3}/createRoom`, alice.token, { name: 'Hall', preset: 'private_chat' })).room_id as string;
    await ok('POST', `${V3}/rooms/${e(hall)}/invite`, alice.token, { user_id: bob.userId });
    const invited = await sync(bob);
    const inviteState = invited.rooms.invite[hall].invite_state.events as Body[];
    expect(inviteState.find((ev) => ev.type === 'm.room.name')?.content).toEqual({ name: 'Hall' });
    expect(inviteState.find((ev) => ev.type === 'm.room.member' && ev.state_key === bob.userId)?.content.membership).toBe('invite');
    expect(inviteState.every((ev) => ev.event_id === undefined)).toBe(true);
    expect(invited.rooms.join).toBeUndefined();

    await ok('POST', `${V3}/join/${e(hall)}`, bob.token, {});
    const sent = [await send(alice, hall, 'one', 'tx1'), await send(alice, hall, 'two')];
    // A mention through `m.mentions` (since v1.7) is what the default push rules highlight.
    sent.push((await ok('PUT', `${V3}/rooms/${e(hall)}/send/m.room.message/mention`, alice.token,
      { msgtype: 'm.text', body: 'hi bob', 'm.mentions': { user_ids: [bob.userId] } })).event_id as string);
    const first = await sync(bob);
    const room = first.rooms.join[hall];
    expect(first.rooms.invite).toBeUndefined();
    expect(room.timeline.events.slice(-3).map((ev: Body) => ev.event_id)).toEqual(sent);
    expect(room.timeline.events.every((ev: Body) => ev.room_id === undefined && typeof ev.unsigned.age === 'number')).toBe(true);
    expect(room.timeline.limited).toBe(true);
    expect(room.timeline.prev_batch).toMatch(/^t\d+$/);
    // The state is the state at the start of the timeline: the create event is in it, not after it.
    const stateTypes = room.state.events.map((ev: Body) => ev.type);
    expect(stateTypes).toContain('m.room.create');
    expect(room.timeline.events.some((ev: Body) => ev.type === 'm.room.create')).toBe(false);
    expect(room.summary).toEqual({ 'm.joined_member_count': 2, 'm.invited_member_count': 0 });
    expect(room.unread_notifications).toEqual({ notification_count: 3, highlight_count: 1 });
    expect(room.timeline.events.find((ev: Body) => ev.event_id === sent[0]).unsigned.transaction_id).toBeUndefined();
    const mine = (await sync(alice)).rooms.join[hall].timeline.events.find((ev: Body) => ev.event_id === sent[0]);
    expect(mine.unsigned.transaction_id).toBe('tx1');
    expect(first.account_data.events.map((ev: Body) => ev.type)).toContain('m.push_rules');
    expect(first.device_one_time_keys_count).toEqual({ signed_curve25519: 0 });

    // The read receipt resets the counts.
    await ok('POST', `${V3}/rooms/${e(hall)}/receipt/m.read/${e(sent[2]!)}`, bob.token, {});
    expect((await sync(bob)).rooms.join[hall].unread_notifications).toEqual({ notification_count: 0, highlight_count: 0 });
  });

  it('answers incremental syncs with exact deltas', async () => {
    const base = (await sync(bob)).next_batch as string;
    const quiet = await sync(bob, { since: base });
    expect(quiet.rooms).toBeUndefined();
    expect(quiet.next_batch).toBe(base);
    const id = await send(alice, hall, 'delta');
    const delta = await sync(bob, { since: base });
    expect(Object.keys(delta.rooms)).toEqual(['join']);
    const room = delta.rooms.join[hall];
    expect(room.timeline.events.map((ev: Body) => ev.event_id)).toEqual([id]);
    expect(room.timeline.limited).toBe(false);
    expect(room.state.events).toEqual([]);
    expect(room.unread_notifications.notification_count).toBe(1);
    const after = await sync(bob, { since: delta.next_batch });
    expect(after.rooms).toBeUndefined();
  });

  it('limits the timeline and hands out a prev_batch that /messages continues from', async () => {
    const base = (await sync(bob)).next_batch as string;
    await ok('PUT', `${V3}/rooms/${e(hall)}/state/m.room.topic`, alice.token, { topic: 'gap' });
    for (let i = 0; i < 5; i++) await send(alice, hall, `burst ${i}`);
    const filter = JSON.stringify({ room: { timeline: { limit: 2 } } });
    const room = (await sync(bob, { since: base, filter })).rooms.join[hall];
    expect(bodies(room.timeline.events)).toEqual(['burst 3', 'burst 4']);
    expect(room.timeline.limited).toBe(true);
    // The topic change fell in the gap: it comes as state.
    expect(room.state.events.map((ev: Body) => [ev.type, ev.content.topic])).toEqual([['m.room.topic', 'gap']]);
    const older = await ok('GET', `${V3}/rooms/${e(hall)}/messages?dir=b&limit=3&from=${room.timeline.prev_batch}`, bob.token);
    expect(bodies(older.chunk)).toEqual(['burst 2', 'burst 1', 'burst 0']);
  });

  it('long-polls: wakes on a message from another user, and returns the same token on timeout', async () => {
    const base = (await sync(bob)).next_batch as string;
    const started = Date.now();
    const waiting = sync(bob, { since: base, timeout: 20_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const id = await send(alice, hall, 'wake up');
    const woken = await waiting;
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(woken.rooms.join[hall].timeline.events.map((ev: Body) => ev.event_id)).toEqual([id]);

    const quietStart = Date.now();
    const quiet = await sync(bob, { since: woken.next_batch, timeout: 600 });
    expect(Date.now() - quietStart).toBeGreaterThanOrEqual(550);
    expect(quiet.next_batch).toBe(woken.next_batch);
    expect(quiet.rooms).toBeUndefined();
  });

  it('shows new invites, newly joined rooms in full and leaves with the leave event', async () => {
    const base = (await sync(bob)).next_batch as string;
    const annex = (await ok('POST', `${V3}/createRoom`, alice.token, { name: 'Annex', invite: [bob.userId] })).room_id as string;
    const invited = await sync(bob, { since: base });
    expect(Object.keys(invited.rooms.invite)).toEqual([annex]);
    await ok('POST', `${V3}/join/${e(annex)}`, bob.token, {});
    const joined = await sync(bob, { since: invited.next_batch });
    const room = joined.rooms.join[annex];
    // New to the client: the whole room (it fits in the timeline here, so the state before it is empty).
    expect(room.timeline.limited).toBe(false);
    expect([...room.state.events, ...room.timeline.events].map((ev: Body) => ev.type)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.name']));
    expect(room.timeline.events.at(-1)).toMatchObject({ type: 'm.room.member', state_key: bob.userId, content: { membership: 'join' } });
    expect(joined.rooms.invite).toBeUndefined();
    await ok('POST', `${V3}/rooms/${e(annex)}/leave`, bob.token, {});
    const left = await sync(bob, { since: joined.next_batch });
    expect(left.rooms.leave[annex].timeline.events.map((ev: Body) => [ev.type, ev.content.membership]))
      .toEqual([['m.room.member', 'leave']]);
    expect(left.rooms.join).toBeUndefined();
    expect((await sync(bob)).rooms.leave).toBeUndefined();
    const withLeave = await sync(bob, { filter: JSON.stringify({ room: { include_leave: true } }) });
    expect(Object.keys(withLeave.rooms.leave)).toEqual([annex]);
    expect(withLeave.rooms.leave[annex].timeline.events.at(-1).content.membership).toBe('leave');
  });

  it('delivers a to-device message exactly once across two syncs', async () => {
    const base = (await sync(bob)).next_batch as string;
    await ok('PUT', `${V3}/sendToDevice/m.test/txn1`, alice.token, { messages: { [bob.userId]: { [bob.deviceId]: { hello: 'bob' } } } });
    const first = await sync(bob, { since: base });
    expect(first.to_device.events).toEqual([{ sender: alice.userId, type: 'm.test', content: { hello: 'bob' } }]);
    const second = await sync(bob, { since: first.next_batch });
    expect(second.to_device.events).toEqual([]);
  });

  it('shows typing and receipts as ephemeral events, and account data', async () => {
    const base = (await sync(bob)).next_batch as string;
    await ok('PUT', `${V3}/rooms/${e(hall)}/typing/${e(alice.userId)}`, alice.token, { typing: true, timeout: 10_000 });
    const last = await send(bob, hall, 'read this');
    await ok('POST', `${V3}/rooms/${e(hall)}/receipt/m.read/${e(last)}`, alice.token, {});
    await ok('PUT', `${V3}/user/${e(bob.userId)}/account_data/org.example.global`, bob.token, { a: 1 });
    await ok('PUT', `${V3}/user/${e(bob.userId)}/rooms/${e(hall)}/tags/u.work`, bob.token, {});
    const delta = await sync(bob, { since: base });
    const ephemeral = delta.rooms.join[hall].ephemeral.events as Body[];
    expect(ephemeral.find((ev) => ev.type === 'm.typing')?.content).toEqual({ user_ids: [alice.userId] });
    expect(ephemeral.find((ev) => ev.type === 'm.receipt')?.content[last]['m.read'][alice.userId].ts).toEqual(expect.any(Number));
    expect(delta.account_data.events).toEqual([{ type: 'org.example.global', content: { a: 1 } }]);
    expect(delta.rooms.join[hall].account_data.events).toEqual([{ type: 'm.tag', content: { tags: { 'u.work': {} } } }]);
    await ok('PUT', `${V3}/rooms/${e(hall)}/typing/${e(alice.userId)}`, alice.token, { typing: false });
  });

  it('lazy-loads members and applies filters by id and inline', async () => {
    await ok('POST', `${V3}/rooms/${e(hall)}/invite`, alice.token, { user_id: carol.userId });
    await ok('POST', `${V3}/join/${e(hall)}`, carol.token, {});
    await send(carol, hall, 'carol here');
    const lazy = JSON.stringify({ room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } });
    const room = (await sync(bob, { filter: lazy })).rooms.join[hall];
    const members = room.state.events.filter((ev: Body) => ev.type === 'm.room.member').map((ev: Body) => ev.state_key).sort();
    expect(members).toEqual([bob.userId, carol.userId].sort());
    expect(room.state.events.some((ev: Body) => ev.type === 'm.room.power_levels')).toBe(true);

    const { filter_id: filterId } = await ok('POST', `${V3}/user/${e(bob.userId)}/filter`, bob.token,
      { room: { timeline: { limit: 1, types: ['m.room.message'] }, state: { types: ['m.room.name'] } }, event_fields: ['type', 'content.body', 'event_id'] });
    const byId = (await sync(bob, { filter: filterId as string })).rooms.join[hall];
    expect(byId.timeline.events).toEqual([{ type: 'm.room.message', content: { body: 'carol here' }, event_id: expect.any(String) }]);
    expect(byId.state.events).toEqual([{ type: 'm.room.name', event_id: expect.any(String), content: {} }]);
    const excluded = await sync(bob, { filter: JSON.stringify({ room: { not_rooms: [hall] } }) });
    expect(excluded.rooms?.join?.[hall]).toBeUndefined();
    expect((await call('GET', `${V3}/sync?filter=nope`, bob.token)).body.errcode).toBe('M_INVALID_PARAM');
  });

  it('shows knocks with stripped state, full_state, presence from set_presence, and the federation format', async () => {
    const lobby = (await ok('POST', `${V3}/createRoom`, alice.token, {
      name: 'Lobby', initial_state: [{ type: 'm.room.join_rules', content: { join_rule: 'knock' } }],
    })).room_id as string;
    const base = (await sync(carol)).next_batch as string;
    await ok('POST', `${V3}/knock/${e(lobby)}`, carol.token, {});
    const knocked = await sync(carol, { since: base });
    const knockState = knocked.rooms.knock[lobby].knock_state.events as Body[];
    expect(knockState.find((ev) => ev.type === 'm.room.join_rules')?.content).toEqual({ join_rule: 'knock' });
    expect(knockState.find((ev) => ev.state_key === carol.userId)?.content.membership).toBe('knock');

    const quietBase = (await sync(bob)).next_batch as string;
    const full = await sync(bob, { since: quietBase, full_state: true });
    expect(full.rooms.join[hall].state.events.map((ev: Body) => ev.type)).toEqual(expect.arrayContaining(['m.room.create', 'm.room.power_levels']));
    expect(full.rooms.join[hall].timeline.events).toEqual([]);

    await sync(carol, { set_presence: 'unavailable' });
    expect((await ok('GET', `${V3}/presence/${e(carol.userId)}/status`, carol.token)).presence).toBe('unavailable');
    const seen = await sync(bob, { since: quietBase });
    expect(seen.presence.events).toContainEqual(expect.objectContaining({ type: 'm.presence', sender: carol.userId, content: expect.objectContaining({ presence: 'unavailable' }) }));

    const federation = (await sync(bob, { filter: JSON.stringify({ event_format: 'federation', room: { timeline: { limit: 1 } } }) })).rooms.join[hall];
    expect(federation.timeline.events[0]).toMatchObject({ room_id: hall, auth_events: expect.any(Array), prev_events: expect.any(Array), hashes: expect.any(Object) });
  });

  it('reports device list changes of room-mates, also through /keys/changes with sync tokens', async () => {
    const base = (await sync(bob)).next_batch as string;
    await ok('POST', `${V3}/keys/upload`, carol.token, {
      device_keys: { user_id: carol.userId, device_id: carol.deviceId, algorithms: ['m.olm.v1.curve25519-aes-sha2'], keys: { [`curve25519:${carol.deviceId}`]: 'k' }, signatures: {} },
    });
    const delta = await sync(bob, { since: base });
    expect(delta.device_lists.changed).toContain(carol.userId);
    const changes = await ok('GET', `${V3}/keys/changes?from=${e(base)}&to=${e(delta.next_batch)}`, bob.token);
    expect(changes.changed).toContain(carol.userId);
    await ok('POST', `${V3}/keys/upload`, bob.token, { one_time_keys: { 'signed_curve25519:AAA': { key: 'x', signatures: {} } } });
    expect((await sync(bob, { since: delta.next_batch })).device_one_time_keys_count).toEqual({ signed_curve25519: 1 });
  });
});
