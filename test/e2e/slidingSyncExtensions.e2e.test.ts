// Simplified sliding sync's extensions (MSC4186; to_device MSC3885, e2ee MSC3884, account_data
// MSC3959, receipts MSC3960, typing MSC3961) over raw HTTP, in both deployments: each extension,
// lists/rooms scoping, sticky enabling, and to-device messages reaching a device once across two
// connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MatrixClient, e, startTestServer, syncTestClient, V3, type Body, type ServerMode, type SyncSession, type SyncTestClient, type TestServer } from '../harness/index.ts';

const SSS = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';

describe.each<ServerMode>(['embedded', 'distributed'])('sliding sync extensions (%s)', (mode) => {
  let server: TestServer;
  let ok: SyncTestClient['ok'];
  let call: SyncTestClient['call'];
  let register: SyncTestClient['register'];
  let alice: SyncSession;
  let bob: SyncSession;
  let room: string;
  let other: string;

  /** One request; `pos` and `timeout` go in the query as clients send them today. */
  const slide = (who: SyncSession, body: Body, pos?: string, timeout = 0): Promise<Body> => {
    const query = new URLSearchParams({ timeout: String(timeout), ...(pos === undefined ? {} : { pos }) });
    return ok('POST', `${SSS}?${query}`, who.token, body);
  };
  const list = (extra: Body = {}): Body => ({ lists: { all: { ranges: [[0, 9]], timeline_limit: 1, required_state: [] } }, ...extra });
  const send = async (who: SyncSession, roomId: string, body: string): Promise<string> =>
    (await ok('PUT', `${V3}/rooms/${e(roomId)}/send/m.room.message/${Math.random()}`, who.token, { msgtype: 'm.text', body })).event_id as string;
  const toDevice = (from: SyncSession, to: SyncSession, text: string) =>
    ok('PUT', `${V3}/sendToDevice/org.example.test/${Math.random()}`, from.token, { messages: { [to.userId]: { [to.deviceId]: { text } } } });
  const texts = (answer: Body): string[] => (answer.extensions.to_device?.events ?? []).map((event: Body) => event.content.text as string);

  beforeAll(async () => {
    server = await startTestServer({ mode });
    ({ ok, call, register } = syncTestClient(new MatrixClient(server.url)));
    alice = await register('alice');
    bob = await register('bob');
    room = (await ok('POST', `${V3}/createRoom`, alice.token, { name: 'Shared', preset: 'public_chat' })).room_id as string;
    other = (await ok('POST', `${V3}/createRoom`, alice.token, { name: 'Other', preset: 'public_chat' })).room_id as string;
    await ok('POST', `${V3}/join/${e(room)}`, bob.token, {});
  });
  afterAll(() => server?.stop());

  it('to_device: messages after since up to limit, acknowledged by since, only while enabled', async () => {
    for (const text of ['one', 'two', 'three']) await toDevice(bob, alice, text);
    const off = await slide(alice, list({ conn_id: 'off' }));
    expect(off.extensions.to_device).toBeUndefined();

    const first = await slide(alice, list({ conn_id: 'td', extensions: { to_device: { enabled: true, limit: 2 } } }));
    expect(texts(first)).toEqual(['one', 'two']);
    expect(first.extensions.to_device.events[0]).toMatchObject({ sender: bob.userId, type: 'org.example.test' });
    const batch = first.extensions.to_device.next_batch as string;
    expect(batch).toMatch(/^\d+$/);
    // Not acknowledged: the same since gives them again.
    expect(texts(await slide(alice, list({ conn_id: 'td2', extensions: { to_device: { enabled: true, limit: 2 } } })))).toEqual(['one', 'two']);
    const second = await slide(alice, list({ extensions: { to_device: { since: batch } }, conn_id: 'td' }), first.pos as string);
    expect(texts(second)).toEqual(['three']);
    const acknowledged = await slide(alice, list({ conn_id: 'td', extensions: { to_device: { since: second.extensions.to_device.next_batch } } }), second.pos as string);
    expect(acknowledged.extensions.to_device).toBeUndefined();
  });

  it('to_device: a message reaches the device once across two connections, whichever acknowledges it', async () => {
    const enabled = { to_device: { enabled: true } };
    const a1 = await slide(alice, list({ conn_id: 'a', extensions: enabled }));
    const b1 = await slide(alice, list({ conn_id: 'b', extensions: enabled }));
    expect([texts(a1), texts(b1)]).toEqual([[], []]);
    await toDevice(bob, alice, 'once');
    const a2 = await slide(alice, list({ conn_id: 'a', extensions: { to_device: { since: a1.extensions.to_device.next_batch } } }), a1.pos as string, 5000);
    expect(texts(a2)).toEqual(['once']);
    // Connection a acknowledges it (even as a long-poll that then times out).
    await slide(alice, list({ conn_id: 'a', extensions: { to_device: { since: a2.extensions.to_device.next_batch } } }), a2.pos as string, 100);
    const b2 = await slide(alice, list({ conn_id: 'b', extensions: { to_device: { since: b1.extensions.to_device.next_batch } } }), b1.pos as string, 100);
    expect(texts(b2)).toEqual([]);
  });

  it('e2ee: key counts and fallback key types, then device list changes since the last answer', async () => {
    const first = await slide(alice, list({ conn_id: 'e2ee', extensions: { e2ee: { enabled: true } } }));
    expect(first.extensions.e2ee).toEqual({ device_one_time_keys_count: { signed_curve25519: 0 }, device_unused_fallback_key_types: [] });
    await ok('POST', `${V3}/keys/upload`, alice.token, {
      one_time_keys: { 'signed_curve25519:AAAA': { key: 'k1', signatures: {} }, 'signed_curve25519:AAAB': { key: 'k2', signatures: {} } },
      fallback_keys: { 'signed_curve25519:AAAC': { key: 'k3', fallback: true, signatures: {} } },
    });
    // Sticky: the extension stays enabled without being named again.
    const counted = await slide(alice, list({ conn_id: 'e2ee' }), first.pos as string, 5000);
    expect(counted.extensions.e2ee).toMatchObject({
      device_one_time_keys_count: { signed_curve25519: 2 }, device_unused_fallback_key_types: ['signed_curve25519'],
      device_lists: { changed: [], left: [] },
    });
    const carol = await register('carol');
    await ok('POST', `${V3}/join/${e(room)}`, carol.token, {});
    const joined = await slide(alice, list({ conn_id: 'e2ee' }), counted.pos as string, 5000);
    expect(joined.extensions.e2ee.device_lists.changed).toContain(carol.userId);
    await ok('POST', `${V3}/rooms/${e(room)}/leave`, carol.token, {});
    let left = await slide(alice, list({ conn_id: 'e2ee' }), joined.pos as string, 5000);
    // The leave may land in the answer after an unrelated one (the room's timeline moving first).
    if (left.extensions.e2ee?.device_lists?.left?.length !== 1) left = await slide(alice, list({ conn_id: 'e2ee' }), left.pos as string, 5000);
    expect(left.extensions.e2ee.device_lists).toEqual({ changed: [], left: [carol.userId] });
  });

  it('account_data: everything on the first answer, then only changes; rooms scoped by lists and rooms', async () => {
    await ok('PUT', `${V3}/user/${e(alice.userId)}/account_data/org.example.before`, alice.token, { n: 1 });
    await ok('PUT', `${V3}/user/${e(alice.userId)}/rooms/${e(room)}/tags/u.work`, alice.token, { order: 0.5 });
    const first = await slide(alice, list({ conn_id: 'ad', extensions: { account_data: { enabled: true } } }));
    const global = first.extensions.account_data.global as Body[];
    expect(global.map((event) => event.type)).toEqual(expect.arrayContaining(['m.push_rules', 'org.example.before']));
    expect(first.extensions.account_data.rooms[room]).toContainEqual({ type: 'm.tag', content: { tags: { 'u.work': { order: 0.5 } } } });

    await ok('PUT', `${V3}/user/${e(alice.userId)}/account_data/org.example.after`, alice.token, { n: 2 });
    await ok('PUT', `${V3}/user/${e(alice.userId)}/rooms/${e(other)}/account_data/org.example.room`, alice.token, { n: 3 });
    const next = await slide(alice, list({ conn_id: 'ad' }), first.pos as string, 5000);
    const changes = next.extensions.account_data;
    expect(changes.global).toEqual([{ type: 'org.example.after', content: { n: 2 } }]);
    expect(changes.rooms[other]).toEqual([{ type: 'org.example.room', content: { n: 3 } }]);
    expect(changes.rooms[room]).toBeUndefined();

    // Turned on in a connection that had it off: everything, as on a connection's first answer.
    const off = await slide(alice, list({ conn_id: 'ad-later' }));
    const on = await slide(alice, list({ conn_id: 'ad-later', extensions: { account_data: { enabled: true } } }), off.pos as string);
    expect((on.extensions.account_data.global as Body[]).map((event) => event.type)).toEqual(expect.arrayContaining(['m.push_rules', 'org.example.after']));

    const scoped = await slide(alice, list({ conn_id: 'ad-none', extensions: { account_data: { enabled: true, lists: [], rooms: [] } } }));
    expect(scoped.extensions.account_data.rooms).toEqual({});
    expect(scoped.extensions.account_data.global.length).toBeGreaterThan(0);
    const subscribed = await slide(alice, {
      conn_id: 'ad-sub', room_subscriptions: { [room]: { timeline_limit: 1, required_state: [] } },
      extensions: { account_data: { enabled: true, lists: [], rooms: [room] } },
    });
    expect(Object.keys(subscribed.extensions.account_data.rooms)).toEqual([room]);
  });

  it('receipts: a room sent from scratch brings its timeline’s receipts and the user’s own, then changes', async () => {
    const older = await send(bob, room, 'older');
    await ok('POST', `${V3}/rooms/${e(room)}/receipt/m.read/${e(older)}`, alice.token, {});
    const latest = await send(bob, room, 'latest');
    await ok('POST', `${V3}/rooms/${e(room)}/receipt/m.read/${e(latest)}`, bob.token, {});
    const first = await slide(alice, list({ conn_id: 'rc', extensions: { receipts: { enabled: true } } }));
    const content = first.extensions.receipts.rooms[room].content as Body;
    expect(first.extensions.receipts.rooms[room].type).toBe('m.receipt');
    expect(Object.keys(content[latest]['m.read'])).toEqual([bob.userId]);
    expect(Object.keys(content[older]['m.read'])).toEqual([alice.userId]);

    await ok('POST', `${V3}/rooms/${e(room)}/receipt/m.read/${e(latest)}`, alice.token, {});
    const next = await slide(alice, list({ conn_id: 'rc' }), first.pos as string, 5000);
    expect(Object.keys(next.extensions.receipts.rooms[room].content[latest]['m.read'])).toContain(alice.userId);

    const elsewhere = await slide(alice, list({ conn_id: 'rc-scoped', extensions: { receipts: { enabled: true, lists: ['missing'], rooms: [] } } }));
    expect(elsewhere.extensions.receipts.rooms).toEqual({});

    // An invitee sees the room in its list, but not its members' receipts or typing (as /sync).
    const dave = await register('dave');
    await ok('POST', `${V3}/rooms/${e(room)}/invite`, alice.token, { user_id: dave.userId });
    await ok('PUT', `${V3}/rooms/${e(room)}/typing/${e(bob.userId)}`, bob.token, { typing: true, timeout: 30_000 });
    const invited = await slide(dave, list({ conn_id: 'rc', extensions: { receipts: { enabled: true }, typing: { enabled: true } } }));
    expect(invited.rooms[room].invite_state).toBeDefined();
    expect([invited.extensions.receipts.rooms, invited.extensions.typing.rooms]).toEqual([{}, {}]);
    await ok('PUT', `${V3}/rooms/${e(room)}/typing/${e(bob.userId)}`, bob.token, { typing: false });
    await ok('POST', `${V3}/rooms/${e(room)}/receipt/m.read/${e(await send(bob, room, 'unseen by invitees'))}`, bob.token, {});
    const later = await slide(dave, list({ conn_id: 'rc' }), invited.pos as string, 300);
    expect([later.extensions.receipts, later.extensions.typing]).toEqual([undefined, undefined]);
  });

  it('typing: who types in the rooms in scope', async () => {
    const first = await slide(alice, list({ conn_id: 'ty', extensions: { typing: { enabled: true, rooms: [], lists: ['all'] } } }));
    await ok('PUT', `${V3}/rooms/${e(room)}/typing/${e(bob.userId)}`, bob.token, { typing: true, timeout: 30_000 });
    const typing = await slide(alice, list({ conn_id: 'ty' }), first.pos as string, 5000);
    expect(typing.extensions.typing.rooms[room]).toEqual({ type: 'm.typing', content: { user_ids: [bob.userId] } });
    await ok('PUT', `${V3}/rooms/${e(room)}/typing/${e(bob.userId)}`, bob.token, { typing: false });
    const stopped = await slide(alice, list({ conn_id: 'ty' }), typing.pos as string, 5000);
    expect(stopped.extensions.typing.rooms[room]).toEqual({ type: 'm.typing', content: { user_ids: [] } });
  });

  it('answers the same extensions through the merged /v4/sync form (pos and timeout in the body)', async () => {
    const v4 = (body: Body) => ok('POST', '/_matrix/client/v4/sync', alice.token, { timeout: 0, ...body });
    const lists = { all: { range: [0, 9], timeline_limit: 1, required_state: {} } };
    await ok('PUT', `${V3}/rooms/${e(room)}/typing/${e(bob.userId)}`, bob.token, { typing: true, timeout: 30_000 });
    const first = await v4({ conn_id: 'v4', lists, extensions: { to_device: { enabled: true }, typing: { enabled: true } } });
    await toDevice(bob, alice, 'merged');
    const next = await v4({ conn_id: 'v4', lists, pos: first.pos, timeout: 5000, extensions: { to_device: { since: first.extensions.to_device.next_batch } } });
    expect(texts(next)).toEqual(['merged']);
    expect(first.extensions.typing.rooms[room]).toEqual({ type: 'm.typing', content: { user_ids: [bob.userId] } });
  });

  it('refuses malformed extension parameters', async () => {
    const bad = async (extensions: Body) => {
      const reply = await call('POST', `${SSS}?timeout=0`, alice.token, list({ conn_id: 'bad', extensions }));
      return [reply.status, reply.body.errcode];
    };
    expect(await bad({ to_device: { enabled: true, limit: 'all' } })).toEqual([400, 'M_BAD_JSON']);
    expect(await bad({ to_device: { enabled: true, since: 'yesterday' } })).toEqual([400, 'M_BAD_JSON']);
    expect(await bad({ typing: { enabled: true, rooms: Array.from({ length: 501 }, (_, i) => `!r${i}:x`) } })).toEqual([400, 'M_INVALID_PARAM']);
    expect(await bad({ receipts: { enabled: true, lists: 'all' } })).toEqual([400, 'M_BAD_JSON']);
    expect(await bad({ e2ee: { enabled: 1 } })).toEqual([400, 'M_BAD_JSON']);
    // Unknown extensions are ignored.
    expect(await bad({ 'org.example.unknown': { enabled: true } })).toEqual([200, undefined]);
  });
});
