// EDUs between servers over the real rooms projection and user-data stores on PostgreSQL: a remote
// user joined to a local room (an accepted remote join appended to the log, as ingestion will)
// makes its server a destination of our users' EDUs, and its typing, receipts, presence and
// device-list changes reach what our users' /sync reads; to-device messages arrive exactly once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOM_EVENTS_TOPIC } from '../../domain/index.ts';
import type { Edu, FederationOutbox } from '../../domain/ports/index.ts';
import { createEduReceiver, type EduReceiver } from '../../domain/app/federation/edus/index.ts';
import { createInProcessNotifier, createUserData, type UserData } from '../../domain/app/userData/index.ts';
import { createSqlUserDataStores } from '../../infra/userData/index.ts';
import { systemClock } from '../../infra/stores/index.ts';
import { createSqlRoomMembership, createSqlRoomServers } from '../../projections/rooms/index.ts';
import { openTestSchema, startRoomsStack, type RoomsStack, type TestSchema } from '../harness/index.ts';

const SERVER = 'strata.test';
const REMOTE = 'remote.example:8448';
const bob = { userId: `@bob:${SERVER}`, deviceId: 'B1' };
const alice = `@alice:${REMOTE}`;
const stranger = `@stranger:${REMOTE}`;

interface Sent { readonly destinations: readonly string[]; readonly edu: Edu; readonly durable: boolean }

/** An accepted join of a remote user, as the room writer will append one it ingested. */
const appendRemoteJoin = async (stack: RoomsStack, roomId: string, userId: string): Promise<void> => {
  const snapshot = (await stack.queries.snapshot(roomId))!;
  const ownJoin = (await stack.queries.stateEvent(roomId, 'm.room.member', bob.userId))!;
  const eventId = `$remote-join-${randomUUID()}`;
  const pdu = {
    ...ownJoin.pdu, sender: userId, state_key: userId, origin: REMOTE, content: { membership: 'join' },
    prev_events: [...snapshot.forwardExtremities], depth: snapshot.maxDepth + 1,
  };
  const [at] = await stack.log.append(ROOM_EVENTS_TOPIC, [{
    key: roomId,
    value: {
      type: 'pdu.accepted', v: 2, roomId, roomVersion: snapshot.roomVersion, eventId, pdu,
      stateDelta: [{ type: 'm.room.member', stateKey: userId, eventId, replaces: null }],
      prevAcceptedEventId: snapshot.lastEventId, forwardExtremities: [eventId], local: null, acceptedAt: Date.now(),
      redaction: null, redactedBy: [],
    },
  }]);
  expect(await stack.projection.waitFor(at!.partition, at!.offset, 10_000)).toBe(true);
};

describe('EDUs between servers on PostgreSQL', () => {
  let schema: TestSchema;
  let stack: RoomsStack;
  let userData: UserData;
  let receiver: EduReceiver;
  let roomId: string;
  const sent: Sent[] = [];

  beforeAll(async () => {
    schema = await openTestSchema('edus_test', 4);
    stack = await startRoomsStack({ db: schema.db, serverName: SERVER });
    const outbox: FederationOutbox = { sendEdu: async (destinations, edu, options) => { sent.push({ destinations, edu, durable: options?.durable === true }); } };
    const membership = createSqlRoomMembership(schema.db);
    const rooms = createSqlRoomServers(schema.db);
    userData = createUserData({
      stores: await createSqlUserDataStores(schema.db), notifier: createInProcessNotifier(), membership, clock: systemClock, serverName: SERVER,
      devices: { listDevices: async (userId) => (userId === bob.userId ? [{ deviceId: 'B1' }, { deviceId: 'B2', displayName: 'Laptop' }] : []) },
      federation: { outbox, rooms },
    });
    receiver = createEduReceiver({ serverName: SERVER, membership, rooms, userData: userData.remote, clock: systemClock });
    ({ roomId } = await stack.rooms.createRoom(bob, { preset: 'public_chat' }));
    await appendRemoteJoin(stack, roomId, alice);
  });
  afterAll(async () => {
    userData?.close();
    await stack?.close();
    await schema?.drop();
  });

  it('lists the servers in a room and sharing a room, whole server names with their port', async () => {
    const rooms = createSqlRoomServers(schema.db);
    expect(await rooms.serversInRoom(roomId)).toEqual([REMOTE, SERVER]);
    expect(await rooms.serversSharingRoomsWith(bob.userId)).toEqual([REMOTE, SERVER]);
    expect(await rooms.serversSharingRoomsWith(alice)).toEqual([REMOTE, SERVER]);
    expect(await rooms.serversSharingRoomsWith(stranger)).toEqual([]);
    expect(await rooms.serversInRoom('!nowhere:strata.test')).toEqual([]);
  });

  it('shows a joined remote user typing to our users, not a user who is not in the room', async () => {
    const since = userData.streams.typing.currentPosition();
    await receiver.receive(REMOTE, [
      { edu_type: 'm.typing', content: { room_id: roomId, user_id: stranger, typing: true } },
      { edu_type: 'm.typing', content: { room_id: roomId, user_id: alice, typing: true } },
    ]);
    expect(userData.streams.typing.changesSince([roomId], since, userData.streams.typing.currentPosition()))
      .toEqual([{ roomId, userIds: [alice] }]);
    await receiver.receive(REMOTE, [{ edu_type: 'm.typing', content: { room_id: roomId, user_id: alice, typing: false } }]);
    expect(userData.streams.typing.changesSince([roomId], since, userData.streams.typing.currentPosition())).toEqual([{ roomId, userIds: [] }]);
  });

  it('shows a remote read receipt (threaded) and never a private one', async () => {
    const since = await userData.streams.receipts.currentPosition();
    const eventId = (await stack.queries.snapshot(roomId))!.lastEventId!;
    await receiver.receive(REMOTE, [{
      edu_type: 'm.receipt',
      content: { [roomId]: {
        'm.read': { [alice]: { event_ids: [eventId], data: { ts: 1234, thread_id: 'main' } } },
        'm.read.private': { [stranger]: { event_ids: [eventId], data: { ts: 1 } } },
      } },
    }]);
    const receipts = await userData.streams.receipts.changesSince(bob.userId, [roomId], since, await userData.streams.receipts.currentPosition());
    expect(receipts.get(roomId)).toEqual({ [eventId]: { 'm.read': { [alice]: { ts: 1234, thread_id: 'main' } } } });
  });

  it('shows remote presence to users sharing a room; ignores users sharing none', async () => {
    const since = await userData.streams.presence.currentPosition();
    await receiver.receive(REMOTE, [{
      edu_type: 'm.presence',
      content: { push: [
        { user_id: alice, presence: 'unavailable', last_active_ago: 60_000, status_msg: 'away' },
        { user_id: stranger, presence: 'online', last_active_ago: 0 },
      ] },
    }]);
    const events = await userData.streams.presence.changesSince(bob.userId, since, await userData.streams.presence.currentPosition());
    expect(events).toEqual([{ type: 'm.presence', sender: alice, content: expect.objectContaining({ presence: 'unavailable', status_msg: 'away' }) }]);
    expect(await userData.getPresence(bob, stranger).catch((error: { errcode?: string }) => error.errcode)).toBe('M_FORBIDDEN');
  });

  it('lists a remote user whose devices or cross-signing keys changed in device_lists.changed', async () => {
    const since = await userData.streams.deviceLists.currentPosition();
    await receiver.receive(REMOTE, [
      { edu_type: 'm.device_list_update', content: { user_id: stranger, device_id: 'S', stream_id: 1, prev_id: [] } },
      { edu_type: 'm.device_list_update', content: { user_id: alice, device_id: 'A1', stream_id: 9, prev_id: [8], deleted: false } },
    ]);
    const afterDevices = await userData.streams.deviceLists.currentPosition();
    expect(await userData.streams.deviceLists.changesSince(bob.userId, since, afterDevices)).toEqual([alice]);
    await receiver.receive(REMOTE, [{ edu_type: 'm.signing_key_update', content: { user_id: alice, master_key: { user_id: alice, usage: ['master'], keys: {} } } }]);
    const afterKeys = await userData.streams.deviceLists.currentPosition();
    expect(afterKeys).toBeGreaterThan(afterDevices);
    expect(await userData.streams.deviceLists.changesSince(bob.userId, afterDevices, afterKeys)).toEqual([alice]);
  });

  it('delivers a remote to-device message to every device of `*` exactly once, however often it is retried', async () => {
    const edu = {
      edu_type: 'm.direct_to_device',
      content: { sender: alice, type: 'm.room_key_request', message_id: `m-${randomUUID().slice(0, 8)}`, messages: { [bob.userId]: { '*': { n: 1 } } } },
    };
    await receiver.receive(REMOTE, [edu]);
    await receiver.receive(REMOTE, [edu]);
    const upTo = await userData.streams.toDevice.currentPosition();
    for (const deviceId of ['B1', 'B2']) {
      const batch = await userData.streams.toDevice.changesSince(bob.userId, deviceId, 0, upTo);
      expect(batch.events).toEqual([{ sender: alice, type: 'm.room_key_request', content: { n: 1 } }]);
    }
  });

  it('sends our user\'s typing and public receipts to the room\'s other servers', async () => {
    sent.length = 0;
    await userData.setTyping(bob, roomId, bob.userId, { typing: true, timeout: 10_000 });
    const eventId = (await stack.queries.snapshot(roomId))!.lastEventId!;
    await userData.sendReceipt(bob, roomId, 'm.read.private', eventId, {});
    await userData.sendReceipt(bob, roomId, 'm.read', eventId, {});
    expect(sent.map((s) => [s.destinations, s.edu.edu_type, s.durable])).toEqual([
      [[REMOTE], 'm.typing', false], [[REMOTE], 'm.receipt', false],
    ]);
    expect(sent[0]!.edu.content).toEqual({ room_id: roomId, user_id: bob.userId, typing: true });
  });

  it('announces our user\'s new device keys with the device-list stream position, durably', async () => {
    sent.length = 0;
    const keys = { user_id: bob.userId, device_id: 'B2', algorithms: ['m.olm.v1.curve25519-aes-sha2'], keys: { 'ed25519:B2': 'k2' }, signatures: {} };
    const before = await userData.streams.deviceLists.currentPosition();
    await userData.uploadKeys({ userId: bob.userId, deviceId: 'B2' }, { device_keys: keys });
    const position = await userData.streams.deviceLists.currentPosition();
    expect(position).toBeGreaterThan(before);
    expect(sent).toEqual([{
      destinations: [REMOTE], durable: true,
      edu: { edu_type: 'm.device_list_update', content: {
        user_id: bob.userId, device_id: 'B2', stream_id: position, prev_id: [], deleted: false, keys, device_display_name: 'Laptop',
      } },
    }]);
    await userData.onDeviceDeleted(bob.userId, 'B1');
    expect(sent[1]!.edu.content).toMatchObject({ device_id: 'B1', deleted: true, prev_id: [position] });
  });

  it('sends our user\'s presence to servers sharing a room with them', async () => {
    sent.length = 0;
    await userData.setPresence(bob, bob.userId, { presence: 'online', status_msg: 'hello' });
    expect(sent).toEqual([{
      destinations: [REMOTE], durable: false,
      edu: { edu_type: 'm.presence', content: { push: [expect.objectContaining({ user_id: bob.userId, presence: 'online', status_msg: 'hello' })] } },
    }]);
  });
});
