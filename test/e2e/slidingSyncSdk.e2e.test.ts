// matrix-js-sdk's sliding sync client (SlidingSync driving the client's SlidingSyncSdk) against
// Strata in both deployments: lists and their ranges, room subscriptions, invites, leaves, rooms
// moving to the top on new activity, and a connection started over elsewhere (M_UNKNOWN_POS) resumed.
import { ClientEvent, RoomEvent, SyncState, type MatrixClient as SdkClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import { SlidingSync, SlidingSyncEvent, SlidingSyncState, type MSC3575SlidingSyncResponse } from 'matrix-js-sdk/lib/sliding-sync.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  MatrixClient, e, quietSdkRootLogger, recordingSdkLogger, sdkClientFor, startTestServer, waitForEmit,
  type ServerMode, type Session, type TestServer,
} from '../harness/index.ts';

const V3 = '/_matrix/client/v3';
const UNSTABLE = '/_matrix/client/unstable/org.matrix.simplified_msc3575/sync';
const REQUIRED_STATE = [['m.room.name', ''], ['m.room.create', ''], ['m.room.member', '$ME']];

describe.each<ServerMode>(['embedded', 'distributed'])('matrix-js-sdk sliding sync lists and rooms (%s)', (mode) => {
  let server: TestServer;
  let http: MatrixClient;
  const running: SdkClient[] = [];
  const logger = recordingSdkLogger();

  const createRoom = async (who: Session, body: object): Promise<string> =>
    (await http.ok('POST', `${V3}/createRoom`, { token: who.accessToken, json: body })).room_id as string;
  const send = async (who: Session, roomId: string, body: string): Promise<void> => {
    await http.ok('PUT', `${V3}/rooms/${e(roomId)}/send/m.room.message/${Math.random()}`, { token: who.accessToken, json: { msgtype: 'm.text', body } });
  };
  const bodies = (room: Room | null): string[] =>
    (room?.getLiveTimeline().getEvents() ?? []).filter((event) => event.getType() === 'm.room.message').map((event) => event.getContent().body as string);

  /** Starts the SDK on a SlidingSync with these lists; resolves once its first answer is processed. */
  const slidingClient = async (who: Session, ranges: number[][], timeoutMs = 2000): Promise<{ sdk: SdkClient; sliding: SlidingSync }> => {
    const sdk = sdkClientFor(server.url, who, logger);
    running.push(sdk);
    const lists = new Map([['all', { ranges, timeline_limit: 5, required_state: REQUIRED_STATE }]]);
    const sliding = new SlidingSync(server.url, lists, { timeline_limit: 5, required_state: REQUIRED_STATE }, sdk, timeoutMs);
    const prepared = waitForEmit<[SyncState]>(sdk, ClientEvent.Sync, (state) => state === SyncState.Prepared, 'the first sliding sync');
    await sdk.startClient({ slidingSync: sliding });
    await prepared;
    return { sdk, sliding };
  };
  /** Waits until the SDK processed an answer that holds this room. */
  const roomData = (sliding: SlidingSync, roomId: string, what: string): Promise<unknown> =>
    waitForEmit<[SlidingSyncState, MSC3575SlidingSyncResponse | null]>(sliding, SlidingSyncEvent.Lifecycle,
      (state, resp) => state === SlidingSyncState.Complete && resp?.rooms?.[roomId] !== undefined, what);

  beforeAll(async () => {
    quietSdkRootLogger();
    server = await startTestServer({ mode });
    http = new MatrixClient(server.url);
  });
  afterEach(() => {
    for (const sdk of running.splice(0)) sdk.stopClient();
  });
  afterAll(() => server?.stop());

  it('fills a list window, grows its range, and moves a room with new activity to the top', async () => {
    const alice = await http.register('sdk-lists');
    const bob = await http.register('sdk-lists-bob');
    const rooms: string[] = [];
    for (const name of ['A', 'B', 'C']) {
      const roomId = await createRoom(alice, { name, preset: 'public_chat' });
      await send(alice, roomId, `in ${name}`);
      rooms.push(roomId);
    }
    await http.ok('POST', `${V3}/join/${e(rooms[0]!)}`, { token: bob.accessToken, json: {} });
    const { sdk, sliding } = await slidingClient(alice, [[0, 1]]);
    expect(sliding.getListData('all')?.joinedCount).toBe(3);
    // The two most recent rooms are in the window, with their names and timelines.
    expect(sdk.getRoom(rooms[2]!)?.name).toBe('C');
    expect(bodies(sdk.getRoom(rooms[1]!))).toEqual(['in B']);
    expect(sdk.getRoom(rooms[0]!)).toBeNull();

    const grown = roomData(sliding, rooms[0]!, 'room A after growing the range');
    sliding.setListRanges('all', [[0, 2]]);
    await grown;
    expect(sdk.getRoom(rooms[0]!)?.name).toBe('A');

    // New activity in A: the SDK gets it live, and A's bump stamp is now the highest.
    const live = waitForEmit<[MatrixEvent, Room | undefined]>(sdk, RoomEvent.Timeline,
      (event, room) => room?.roomId === rooms[0] && event.getContent().body === 'bump', 'the new message in A');
    await send(bob, rooms[0]!, 'bump');
    await live;
    const stamps = rooms.map((roomId) => sdk.getRoom(roomId)!.getBumpStamp()!);
    expect(stamps[0]).toBeGreaterThan(Math.max(stamps[1]!, stamps[2]!));
    expect(bodies(sdk.getRoom(rooms[0]!))).toEqual(['in A', 'bump']);

    // A new room arrives, newest of all.
    const arrived = waitForEmit<[SlidingSyncState, MSC3575SlidingSyncResponse | null]>(sliding, SlidingSyncEvent.Lifecycle,
      (state, resp) => state === SlidingSyncState.Complete && Object.values(resp?.rooms ?? {}).some((room) => room.name === 'D'), 'the new room');
    const created = await createRoom(alice, { name: 'D' });
    await arrived;
    expect(sdk.getRoom(created)?.name).toBe('D');
    expect(sdk.getRoom(created)!.getBumpStamp()).toBeGreaterThanOrEqual(stamps[0]!);
    expect(sliding.getListData('all')?.joinedCount).toBe(4);
    expect(logger.problems).toEqual([]);
  });

  it('subscribes to a room outside the window', async () => {
    const alice = await http.register('sdk-subs');
    const old = await createRoom(alice, { name: 'Old' });
    await send(alice, old, 'old news');
    await createRoom(alice, { name: 'New' });
    const { sdk, sliding } = await slidingClient(alice, [[0, 0]]);
    expect(sdk.getRoom(old)).toBeNull();
    const subscribed = roomData(sliding, old, 'the subscribed room');
    sliding.modifyRoomSubscriptions(new Set([old]));
    await subscribed;
    expect(sdk.getRoom(old)?.name).toBe('Old');
    expect(bodies(sdk.getRoom(old))).toEqual(['old news']);
  });

  it('shows an invite, the join after it, and the leave', async () => {
    const alice = await http.register('sdk-invitee');
    const bob = await http.register('sdk-inviter');
    const { sdk, sliding } = await slidingClient(alice, [[0, 9]]);
    const roomId = await createRoom(bob, { name: 'Party', preset: 'private_chat' });
    const invited = roomData(sliding, roomId, 'the invite');
    await http.ok('POST', `${V3}/rooms/${e(roomId)}/invite`, { token: bob.accessToken, json: { user_id: alice.userId } });
    await invited;
    expect(sdk.getRoom(roomId)?.getMyMembership()).toBe('invite');
    expect(sdk.getRoom(roomId)?.name).toBe('Party');

    const joined = roomData(sliding, roomId, 'the joined room');
    await http.ok('POST', `${V3}/join/${e(roomId)}`, { token: alice.accessToken, json: {} });
    await joined;
    expect(sdk.getRoom(roomId)?.getMyMembership()).toBe('join');

    const left = roomData(sliding, roomId, 'the room left');
    await http.ok('POST', `${V3}/rooms/${e(roomId)}/leave`, { token: alice.accessToken, json: {} });
    // The answer with the leave still counts the room; the next one (after the long-poll) no longer lists it.
    const gone = waitForEmit<[SlidingSyncState, MSC3575SlidingSyncResponse | null]>(sliding, SlidingSyncEvent.Lifecycle,
      (state, resp) => state === SlidingSyncState.Complete && resp?.lists.all?.count === 0, 'the list without the room');
    await left;
    expect(sdk.getRoom(roomId)?.getMyMembership()).toBe('leave');
    await gone;
    expect(sliding.getListData('all')?.joinedCount).toBe(0);
  });

  it('starts over when the server no longer knows its position', async () => {
    const alice = await http.register('sdk-expired');
    const roomId = await createRoom(alice, { name: 'Again' });
    const { sliding } = await slidingClient(alice, [[0, 9]], 300);
    const refused = waitForEmit<[SlidingSyncState, MSC3575SlidingSyncResponse | null, { data?: { errcode?: string } } | undefined]>(
      sliding, SlidingSyncEvent.Lifecycle, (state, _resp, err) => state === SlidingSyncState.RequestFinished && err !== undefined, 'the refused position');
    const resent = roomData(sliding, roomId, 'the room sent again on the new connection');
    // The same device starts its connection over elsewhere: the SDK's position is gone.
    await http.ok('POST', UNSTABLE, { token: alice.accessToken, json: {} });
    const [, , err] = await refused;
    expect(err?.data?.errcode).toBe('M_UNKNOWN_POS');
    await resent;
  });
});
