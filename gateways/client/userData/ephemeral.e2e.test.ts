// Typing, receipts, read markers, to-device messages and end-to-end keys over HTTP against the
// whole server (infra/strata.ts, embedded), read back through /sync as clients read them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MatrixClient, e, ephemeralOf, startTestServer, type Body, type Session, type TestServer, type UserClient,
} from '../../../test/harness/index.ts';

describe('ephemeral stream endpoints', () => {
  let server: TestServer;
  let client: MatrixClient;
  let alice: UserClient;
  let alicePhone: UserClient;
  let bob: UserClient;
  let eve: UserClient;
  /** alice's room that bob joins; eve stays out. */
  let room: string;
  beforeAll(async () => {
    server = await startTestServer({ mode: 'embedded' });
    client = new MatrixClient(server.url);
    [alice, bob, eve] = await Promise.all(['alice', 'bob', 'eve'].map(async (name) => client.as(await client.register(name))));
    alicePhone = client.as(await client.login(alice.userId, { deviceId: 'PHONE' }));
    room = await alice.createRoom({ preset: 'public_chat' });
    await bob.post(`/join/${e(room)}`);
  });
  afterAll(() => server?.stop());

  const ephemeralEvent = (sync: Body, type: string): Body | undefined => ephemeralOf(sync, room).find((event) => event.type === type);
  const typingIn = (sync: Body): string[] | undefined => ephemeralEvent(sync, 'm.typing')?.content.user_ids as string[] | undefined;

  it('sets typing for joined users only, with a timeout', async () => {
    const path = (user: UserClient) => `/rooms/${e(room)}/typing/${e(user.userId)}`;
    const since = (await bob.sync()).next_batch as string;
    await alice.put(path(alice), { typing: true, timeout: 30_000 });
    const typing = await bob.syncUntil((sync) => typingIn(sync) !== undefined, { since });
    expect(typingIn(typing)).toEqual([alice.userId]);
    await alice.put(path(alice), { typing: false });
    await bob.syncUntil((sync) => typingIn(sync)?.length === 0, { since: typing.next_batch as string });
    await eve.fails('PUT', path(eve), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { typing: true } });
    await bob.fails('PUT', path(alice), { status: 403, errcode: 'M_FORBIDDEN' }, { json: { typing: true } });
    await alice.fails('PUT', path(alice), { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { typing: 'yes' } });
    // A short timeout expires on its own: alice sees bob typing, then nobody.
    const before = (await alice.sync()).next_batch as string;
    await bob.put(path(bob), { typing: true, timeout: 50 });
    await alice.syncUntil((sync) => typingIn(sync)?.length === 0, { since: before });
  });

  it('stores receipts, keeping private ones for their owner, and read markers as account data', async () => {
    const [one, two, three] = [await alice.send(room, 'one'), await alice.send(room, 'two'), await alice.send(room, 'three')];
    const since = (await bob.sync()).next_batch as string;
    const receipt = (user: UserClient, type: string, eventId: string, json: unknown = {}) =>
      user.post(`/rooms/${e(room)}/receipt/${type}/${e(eventId)}`, json);
    await receipt(alice, 'm.read', one);
    await receipt(alice, 'm.read', two, { thread_id: one });
    await receipt(bob, 'm.read.private', two);
    await receipt(bob, 'm.fully_read', two);
    const errors: [UserClient, string, string, unknown, number, string][] = [
      [alice, 'm.read', one, { thread_id: '' }, 400, 'M_INVALID_PARAM'],
      [alice, 'm.fully_read', one, { thread_id: 'main' }, 400, 'M_INVALID_PARAM'],
      [alice, 'm.unknown', one, {}, 400, 'M_INVALID_PARAM'],
      [alice, 'm.read', 'not-an-event', {}, 400, 'M_INVALID_PARAM'],
      [eve, 'm.read', one, {}, 403, 'M_FORBIDDEN'],
    ];
    for (const [user, type, eventId, json, status, errcode] of errors) {
      await user.fails('POST', `/rooms/${e(room)}/receipt/${type}/${e(eventId)}`, { status, errcode }, { json });
    }
    const receipts = (sync: Body): Body => ephemeralEvent(sync, 'm.receipt')?.content ?? {};
    const seenByBob = receipts(await bob.syncUntil((sync) => receipts(sync)[two]?.['m.read.private'] !== undefined
      && receipts(sync)[one] !== undefined, { since }));
    expect(seenByBob[one]).toEqual({ 'm.read': { [alice.userId]: { ts: expect.any(Number) } } });
    expect(seenByBob[two]).toEqual({
      'm.read': { [alice.userId]: { ts: expect.any(Number), thread_id: one } },
      'm.read.private': { [bob.userId]: { ts: expect.any(Number) } },
    });
    // Bob's private receipt is his alone.
    const seenByAlice = receipts(await alice.sync());
    expect(seenByAlice[two]?.['m.read.private']).toBeUndefined();
    expect(await bob.get(`/user/${e(bob.userId)}/rooms/${e(room)}/account_data/m.fully_read`)).toEqual({ event_id: two });

    const markersSince = (await bob.sync()).next_batch as string;
    await alice.post(`/rooms/${e(room)}/read_markers`, { 'm.fully_read': three, 'm.read': three });
    expect(await alice.get(`/user/${e(alice.userId)}/rooms/${e(room)}/account_data/m.fully_read`)).toEqual({ event_id: three });
    const latest = await bob.syncUntil((sync) => receipts(sync)[three] !== undefined, { since: markersSince });
    expect(Object.keys(receipts(latest))).toEqual([three]);
    await alice.fails('POST', `/rooms/${e(room)}/read_markers`, { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { 'm.fully_read': 5 } });
  });

  it('delivers to-device messages to every device once, ignoring a retried transaction', async () => {
    const toDevice = (sync: Body): Body[] => (sync.to_device?.events ?? []) as Body[];
    const starts = await Promise.all([alice, alicePhone, bob].map(async (user) => (await user.sync()).next_batch as string));
    const send = (txnId: string) => bob.put(`/sendToDevice/m.room_key_request/${txnId}`, {
      messages: { [alice.userId]: { '*': { action: 'request' } }, [bob.userId]: { [bob.session.deviceId]: { direct: true }, NOSUCHDEVICE: { lost: true } } },
    });
    await send('t1');
    await send('t1');
    for (const [device, since] of [[alice, starts[0]!], [alicePhone, starts[1]!]] as const) {
      const got = await device.syncUntil((sync) => toDevice(sync).length > 0, { since });
      expect(toDevice(got)).toEqual([{ sender: bob.userId, type: 'm.room_key_request', content: { action: 'request' } }]);
      // The next sync, from that position, acknowledges and gets nothing more.
      expect(toDevice(await device.sync({ since: got.next_batch as string, timeout: 0 }))).toEqual([]);
    }
    const bobs = await bob.syncUntil((sync) => toDevice(sync).length > 0, { since: starts[2]! });
    expect(toDevice(bobs)).toEqual([{ sender: bob.userId, type: 'm.room_key_request', content: { direct: true } }]);
    await bob.fails('PUT', '/sendToDevice/m.x/t2', { status: 400, errcode: 'M_BAD_JSON' }, { json: { messages: { 'not a user': {} } } });
  });

  it('uploads, queries and claims keys, and tracks device-list changes', async () => {
    const deviceKeys = (s: Session) => ({
      user_id: s.userId, device_id: s.deviceId, algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
      keys: { [`curve25519:${s.deviceId}`]: 'curve', [`ed25519:${s.deviceId}`]: 'ed' },
      signatures: { [s.userId]: { [`ed25519:${s.deviceId}`]: 'c2lnbmF0dXJl' } },
    });
    const [bobFrom, eveFrom] = await Promise.all([bob, eve].map(async (user) => (await user.sync()).next_batch as string));
    await alice.fails('POST', '/keys/upload', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { device_keys: deviceKeys(alicePhone.session) } });
    expect(await alice.post('/keys/upload', {
      device_keys: deviceKeys(alice.session),
      one_time_keys: { 'signed_curve25519:AAAA': { key: 'otk1', signatures: {} }, 'signed_curve25519:AAAB': { key: 'otk2', signatures: {} } },
      fallback_keys: { 'signed_curve25519:FFFF': { key: 'fb', fallback: true, signatures: {} } },
    })).toEqual({ one_time_key_counts: { signed_curve25519: 2 } });
    expect(await alicePhone.post('/keys/upload', {})).toEqual({ one_time_key_counts: { signed_curve25519: 0 } });
    await alice.fails('POST', '/keys/upload', { status: 400, errcode: 'M_INVALID_PARAM' }, { json: { one_time_keys: { 'signed_curve25519:AAAA': { key: 'other' } } } });
    expect((await alice.sync()).device_one_time_keys_count).toEqual({ signed_curve25519: 2 });

    const query = await bob.post('/keys/query', { device_keys: { [alice.userId]: [], '@x:remote.example': [] } });
    expect(query.device_keys).toEqual({ [alice.userId]: { [alice.session.deviceId]: { ...deviceKeys(alice.session), unsigned: {} } } });
    expect(query.failures).toHaveProperty(['remote.example']);

    const claim = () => bob.post('/keys/claim', { one_time_keys: { [alice.userId]: { [alice.session.deviceId]: 'signed_curve25519' } } });
    const claimed = await Promise.all([claim(), claim(), claim()]);
    const keyIds = claimed.map((reply) => Object.keys(reply.one_time_keys[alice.userId][alice.session.deviceId] as Body)[0]);
    expect(keyIds.sort()).toEqual(['signed_curve25519:AAAA', 'signed_curve25519:AAAB', 'signed_curve25519:FFFF']);
    const drained = await alice.sync();
    expect(drained.device_one_time_keys_count?.signed_curve25519 ?? 0).toBe(0);
    expect(drained.device_unused_fallback_key_types).toEqual([]);

    const changedFor = (sync: Body): string[] => (sync.device_lists?.changed ?? []) as string[];
    const bobSees = await bob.syncUntil((sync) => changedFor(sync).includes(alice.userId), { since: bobFrom });
    expect(changedFor(await eve.sync({ since: eveFrom, timeout: 0 }))).not.toContain(alice.userId);
    expect(await bob.get('/keys/changes', { from: bobFrom, to: bobSees.next_batch as string })).toEqual({ changed: [alice.userId], left: [] });
    await bob.fails('GET', '/keys/changes', { status: 400, errcode: 'M_MISSING_PARAM' }, { query: { from: bobFrom } });
    await bob.fails('GET', '/keys/changes', { status: 400, errcode: 'M_INVALID_PARAM' }, { query: { from: 'x', to: 'y' } });

    // A device that goes (here by logging out) loses its keys, and its owner's device list changes.
    await alice.post('/logout');
    expect((await bob.post('/keys/query', { device_keys: { [alice.userId]: [] } })).device_keys).toEqual({ [alice.userId]: {} });
    await bob.syncUntil((sync) => changedFor(sync).includes(alice.userId), { since: bobSees.next_batch as string });
  });
});
