// matrix-js-sdk's sliding sync client (SlidingSync + its SlidingSyncSdk, which registers the
// to_device, account_data, typing and receipts extensions) against Strata, in both deployments:
// each extension's data reaches the SDK's models through its own sync loop.
import { ClientEvent, RoomEvent, RoomMemberEvent, SyncState, type MatrixClient as SdkClient, type MatrixEvent, type Room, type RoomMember } from 'matrix-js-sdk';
import { SlidingSync } from 'matrix-js-sdk/lib/sliding-sync.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MatrixClient, e, quietSdkRootLogger, recordingSdkLogger, sdkClientFor, startTestServer, waitForEmit,
  type ServerMode, type Session, type TestServer,
} from '../harness/index.ts';

const V3 = '/_matrix/client/v3';

describe.each<ServerMode>(['embedded', 'distributed'])('matrix-js-sdk sliding sync extensions (%s)', (mode) => {
  let server: TestServer;
  let http: MatrixClient;
  let alice: Session;
  let bob: Session;
  let sdk: SdkClient;
  let roomId: string;
  const logger = recordingSdkLogger();

  beforeAll(async () => {
    quietSdkRootLogger();
    server = await startTestServer({ mode });
    http = new MatrixClient(server.url);
    alice = await http.register('alice');
    bob = await http.register('bob');
    roomId = (await http.ok('POST', `${V3}/createRoom`, { token: alice.accessToken, json: { name: 'Sliding', preset: 'public_chat' } })).room_id as string;
    await http.ok('POST', `${V3}/join/${e(roomId)}`, { token: bob.accessToken, json: {} });
    sdk = sdkClientFor(server.url, alice, logger);
    const lists = new Map([['all', { ranges: [[0, 9]], timeline_limit: 1, required_state: [['m.room.name', ''], ['m.room.member', '*']] }]]);
    const slidingSync = new SlidingSync(server.url, lists, { timeline_limit: 1, required_state: [] }, sdk, 5000);
    const prepared = waitForEmit<[SyncState]>(sdk, ClientEvent.Sync, (state) => state === SyncState.Prepared, 'the first sliding sync');
    await sdk.startClient({ slidingSync });
    await prepared;
    expect(logger.problems).toEqual([]);
  });
  afterAll(async () => {
    sdk?.stopClient();
    await server?.stop();
  });

  it('to_device: a message sent to the device is emitted once, not again on later answers', async () => {
    const received = waitForEmit<[MatrixEvent]>(sdk, ClientEvent.ToDeviceEvent, (event) => event.getType() === 'org.example.ping', 'the to-device message');
    await http.ok('PUT', `${V3}/sendToDevice/org.example.ping/t1`, {
      token: bob.accessToken, json: { messages: { [alice.userId]: { [alice.deviceId]: { n: 1 } } } },
    });
    const [event] = await received;
    expect([event.getSender(), event.getContent()]).toEqual([bob.userId, { n: 1 }]);
    let again = 0;
    sdk.on(ClientEvent.ToDeviceEvent, (later: MatrixEvent) => { if (later.getType() === 'org.example.ping') again += 1; });
    // Two more answers (the SDK sends the next_batch back, acknowledging it): never emitted again.
    for (const n of [1, 2]) {
      const changed = waitForEmit<[MatrixEvent]>(sdk, ClientEvent.AccountData, (data) => data.getType() === `org.example.after${n}`, `account data ${n}`);
      await http.ok('PUT', `${V3}/user/${e(alice.userId)}/account_data/org.example.after${n}`, { token: alice.accessToken, json: {} });
      await changed;
    }
    expect(again).toBe(0);
  });

  it('account_data: a global change reaches the client store', async () => {
    const changed = waitForEmit<[MatrixEvent]>(sdk, ClientEvent.AccountData, (event) => event.getType() === 'org.example.setting', 'the account data');
    await http.ok('PUT', `${V3}/user/${e(alice.userId)}/account_data/org.example.setting`, { token: alice.accessToken, json: { on: true } });
    await changed;
    expect(sdk.getAccountData('org.example.setting' as never)?.getContent()).toEqual({ on: true });
  });

  // The room's members are in its required_state: the SDK tells typing through its RoomMember models.
  it('typing: the other member typing in the room', async () => {
    const typing = waitForEmit<[MatrixEvent, RoomMember]>(sdk, RoomMemberEvent.Typing,
      (_event, member) => member.userId === bob.userId && member.typing, 'bob typing');
    await http.ok('PUT', `${V3}/rooms/${e(roomId)}/typing/${e(bob.userId)}`, { token: bob.accessToken, json: { typing: true, timeout: 30_000 } });
    const [, member] = await typing;
    expect(member.roomId).toBe(roomId);
  });

  it('receipts: the other member’s read receipt on a message', async () => {
    const { event_id: eventId } = await http.ok('PUT', `${V3}/rooms/${e(roomId)}/send/m.room.message/r1`, {
      token: bob.accessToken, json: { msgtype: 'm.text', body: 'read me' },
    }) as { event_id: string };
    const read = waitForEmit<[MatrixEvent, Room]>(sdk, RoomEvent.Receipt,
      (event, room) => room.roomId === roomId && JSON.stringify(event.getContent()).includes(bob.userId), 'bob’s receipt');
    await http.ok('POST', `${V3}/rooms/${e(roomId)}/receipt/m.read/${e(eventId)}`, { token: bob.accessToken, json: {} });
    await read;
    expect(sdk.getRoom(roomId)?.getEventReadUpTo(bob.userId)).toBe(eventId);
  });
});
