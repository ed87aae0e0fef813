// Typing, receipts, read markers, to-device messages and end-to-end keys over real HTTP on PGlite,
// read back through the streams /sync will use.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, V3, type Harness, type Session } from './testServer.ts';

const ROOM = '!ephemeral:example.org';

describe('ephemeral stream endpoints', () => {
  let h: Harness;
  let alice: Session;
  let alicePhone: Session;
  let bob: Session;
  let eve: Session;
  beforeAll(async () => {
    h = await startHarness();
    alice = await h.register('alice');
    alicePhone = await h.login('alice', 'PHONE');
    bob = await h.register('bob');
    eve = await h.register('eve');
    h.membership.join(ROOM, alice.userId);
    h.membership.join(ROOM, bob.userId);
  });
  afterAll(() => h.close());

  it('sets typing for joined users only, with a timeout, and wakes waiters', async () => {
    const url = (user: Session) => `${V3}/rooms/${ROOM}/typing/${user.userId}`;
    const stream = h.userData.streams.typing;
    const since = stream.currentPosition();
    const woken = h.notifier.waitFor([ROOM], h.notifier.current(), 5_000);
    expect((await h.call('PUT', url(alice), { typing: true, timeout: 30_000 }, alice.token)).status).toBe(200);
    await woken;
    expect(stream.changesSince([ROOM], since, stream.currentPosition())).toEqual([{ roomId: ROOM, userIds: [alice.userId] }]);
    expect((await h.call('PUT', url(alice), { typing: false }, alice.token)).status).toBe(200);
    expect(stream.changesSince([ROOM], since, stream.currentPosition())).toEqual([{ roomId: ROOM, userIds: [] }]);
    expect((await h.call('PUT', url(eve), { typing: true }, eve.token)).status).toBe(403);
    expect((await h.call('PUT', url(alice), { typing: true }, bob.token)).status).toBe(403);
    expect((await h.call('PUT', url(alice), { typing: 'yes' }, alice.token)).body.errcode).toBe('M_INVALID_PARAM');
    // A short timeout expires on its own.
    const before = stream.currentPosition();
    await h.call('PUT', url(bob), { typing: true, timeout: 50 }, bob.token);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stream.currentPosition()).toBe(before + 2);
    expect(stream.changesSince([ROOM], before, stream.currentPosition())).toEqual([{ roomId: ROOM, userIds: [] }]);
  });

  it('stores receipts, keeping private ones for their owner, and read markers as account data', async () => {
    const receipts = h.userData.streams.receipts;
    const since = await receipts.currentPosition();
    const post = (user: Session, type: string, eventId: string, body?: unknown) =>
      h.call('POST', `${V3}/rooms/${ROOM}/receipt/${type}/${encodeURIComponent(eventId)}`, body ?? {}, user.token);
    expect((await post(alice, 'm.read', '$one')).status).toBe(200);
    expect((await post(alice, 'm.read', '$thread', { thread_id: '$root' })).status).toBe(200);
    expect((await post(bob, 'm.read.private', '$two')).status).toBe(200);
    expect((await post(bob, 'm.fully_read', '$two')).status).toBe(200);
    const errors: [Session, string, string, unknown, number, string][] = [
      [alice, 'm.read', '$x', { thread_id: '' }, 400, 'M_INVALID_PARAM'],
      [alice, 'm.fully_read', '$x', { thread_id: 'main' }, 400, 'M_INVALID_PARAM'],
      [alice, 'm.unknown', '$x', {}, 400, 'M_INVALID_PARAM'],
      [alice, 'm.read', 'not-an-event', {}, 400, 'M_INVALID_PARAM'],
      [eve, 'm.read', '$x', {}, 403, 'M_FORBIDDEN'],
    ];
    for (const [user, type, eventId, body, status, errcode] of errors) {
      const reply = await post(user, type, eventId, body);
      expect({ type, status: reply.status, errcode: reply.body.errcode }).toEqual({ type, status, errcode });
    }
    const upTo = await receipts.currentPosition();
    const seenByAlice = (await receipts.changesSince(alice.userId, [ROOM], since, upTo)).get(ROOM);
    expect(seenByAlice).toEqual({
      $one: { 'm.read': { [alice.userId]: { ts: expect.any(Number) } } },
      $thread: { 'm.read': { [alice.userId]: { ts: expect.any(Number), thread_id: '$root' } } },
    });
    const seenByBob = (await receipts.changesSince(bob.userId, [ROOM], since, upTo)).get(ROOM);
    expect(seenByBob?.$two).toEqual({ 'm.read.private': { [bob.userId]: { ts: expect.any(Number) } } });
    const marker = await h.call('GET', `${V3}/user/${bob.userId}/rooms/${ROOM}/account_data/m.fully_read`, undefined, bob.token);
    expect(marker.body).toEqual({ event_id: '$two' });

    const markers = await h.call('POST', `${V3}/rooms/${ROOM}/read_markers`, { 'm.fully_read': '$three', 'm.read': '$three' }, alice.token);
    expect(markers.status).toBe(200);
    expect((await h.call('GET', `${V3}/user/${alice.userId}/rooms/${ROOM}/account_data/m.fully_read`, undefined, alice.token)).body)
      .toEqual({ event_id: '$three' });
    const latest = (await receipts.changesSince(bob.userId, [ROOM], upTo, await receipts.currentPosition())).get(ROOM);
    expect(Object.keys(latest ?? {})).toEqual(['$three']);
    expect((await h.call('POST', `${V3}/rooms/${ROOM}/read_markers`, { 'm.fully_read': 5 }, alice.token)).body.errcode).toBe('M_INVALID_PARAM');
  });

  it('delivers to-device messages to every device once, ignoring a retried transaction', async () => {
    const stream = h.userData.streams.toDevice;
    const send = (txnId: string) => h.call('PUT', `${V3}/sendToDevice/m.room_key_request/${txnId}`, {
      messages: { [alice.userId]: { '*': { action: 'request' } }, [bob.userId]: { [bob.deviceId]: { direct: true }, NOSUCHDEVICE: { lost: true } } },
    }, bob.token);
    const woken = h.notifier.waitFor([alice.userId], h.notifier.current(), 5_000);
    expect((await send('t1')).status).toBe(200);
    await woken;
    expect((await send('t1')).status).toBe(200);
    const upTo = await stream.currentPosition();
    for (const device of [alice, alicePhone]) {
      const batch = await stream.changesSince(alice.userId, device.deviceId, 0, upTo);
      expect(batch.events).toEqual([{ sender: bob.userId, type: 'm.room_key_request', content: { action: 'request' } }]);
      expect(batch.position).toBe(upTo);
      // The next sync, from that position, acknowledges and gets nothing more.
      expect((await stream.changesSince(alice.userId, device.deviceId, batch.position, upTo)).events).toEqual([]);
      expect((await stream.changesSince(alice.userId, device.deviceId, 0, upTo)).events).toEqual([]);
    }
    expect((await stream.changesSince(bob.userId, bob.deviceId, 0, upTo)).events).toEqual([
      { sender: bob.userId, type: 'm.room_key_request', content: { direct: true } },
    ]);
    expect((await stream.changesSince(bob.userId, 'NOSUCHDEVICE', 0, upTo)).events).toEqual([]);
    const bad = await h.call('PUT', `${V3}/sendToDevice/m.x/t2`, { messages: { 'not a user': {} } }, bob.token);
    expect([bad.status, bad.body.errcode]).toEqual([400, 'M_BAD_JSON']);
  });

  it('uploads, queries and claims keys, and tracks device-list changes', async () => {
    const deviceKeys = (s: Session) => ({
      user_id: s.userId, device_id: s.deviceId, algorithms: ['m.olm.v1.curve25519-aes-sha2', 'm.megolm.v1.aes-sha2'],
      keys: { [`curve25519:${s.deviceId}`]: 'curve', [`ed25519:${s.deviceId}`]: 'ed' },
      signatures: { [s.userId]: { [`ed25519:${s.deviceId}`]: 'c2lnbmF0dXJl' } },
    });
    const lists = h.userData.streams.deviceLists;
    const from = await lists.currentPosition();
    const mismatch = await h.call('POST', `${V3}/keys/upload`, { device_keys: deviceKeys(alicePhone) }, alice.token);
    expect([mismatch.status, mismatch.body.errcode]).toEqual([400, 'M_INVALID_PARAM']);
    const upload = await h.call('POST', `${V3}/keys/upload`, {
      device_keys: deviceKeys(alice),
      one_time_keys: { 'signed_curve25519:AAAA': { key: 'otk1', signatures: {} }, 'signed_curve25519:AAAB': { key: 'otk2', signatures: {} } },
      fallback_keys: { 'signed_curve25519:FFFF': { key: 'fb', fallback: true, signatures: {} } },
    }, alice.token);
    expect(upload.body).toEqual({ one_time_key_counts: { signed_curve25519: 2 } });
    expect((await h.call('POST', `${V3}/keys/upload`, {}, alicePhone.token)).body).toEqual({ one_time_key_counts: { signed_curve25519: 0 } });
    const conflict = await h.call('POST', `${V3}/keys/upload`, { one_time_keys: { 'signed_curve25519:AAAA': { key: 'other' } } }, alice.token);
    expect(conflict.body.errcode).toBe('M_INVALID_PARAM');

    const query = await h.call('POST', `${V3}/keys/query`, { device_keys: { [alice.userId]: [], '@x:remote.example': [] } }, bob.token);
    expect(query.body.device_keys).toEqual({ [alice.userId]: { [alice.deviceId]: { ...deviceKeys(alice), unsigned: {} } } });
    expect(query.body.failures).toHaveProperty(['remote.example']);

    const claim = () => h.call('POST', `${V3}/keys/claim`, { one_time_keys: { [alice.userId]: { [alice.deviceId]: 'signed_curve25519' } } }, bob.token);
    const claimed = await Promise.all([claim(), claim(), claim()]);
    const keyIds = claimed.map((reply) => Object.keys((reply.body.one_time_keys as Record<string, Record<string, object>>)[alice.userId]![alice.deviceId]!)[0]);
    expect(keyIds.sort()).toEqual(['signed_curve25519:AAAA', 'signed_curve25519:AAAB', 'signed_curve25519:FFFF']);
    const counts = await h.userData.streams.keyCounts(alice.userId, alice.deviceId);
    expect(counts).toEqual({ oneTimeKeyCounts: {}, unusedFallbackKeyTypes: [] });

    const to = await lists.currentPosition();
    expect(await lists.changesSince(bob.userId, from, to)).toEqual([alice.userId]);
    expect(await lists.changesSince(eve.userId, from, to)).toEqual([]);
    const changes = await h.call('GET', `${V3}/keys/changes?from=${from}&to=${to}`, undefined, bob.token);
    expect(changes.body).toEqual({ changed: [alice.userId], left: [] });
    expect((await h.call('GET', `${V3}/keys/changes?from=${from}`, undefined, bob.token)).body.errcode).toBe('M_MISSING_PARAM');
    expect((await h.call('GET', `${V3}/keys/changes?from=x&to=1`, undefined, bob.token)).body.errcode).toBe('M_INVALID_PARAM');

    await h.userData.onDeviceDeleted(alice.userId, alice.deviceId);
    const afterDelete = await h.call('POST', `${V3}/keys/query`, { device_keys: { [alice.userId]: [] } }, bob.token);
    expect(afterDelete.body.device_keys).toEqual({ [alice.userId]: {} });
    expect(await lists.changesSince(bob.userId, to, await lists.currentPosition())).toEqual([alice.userId]);
  });
});
