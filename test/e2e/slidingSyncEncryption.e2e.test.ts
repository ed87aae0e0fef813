// End-to-end encryption over sliding sync, as Element X depends on it: a matrix-js-sdk client with
// Rust crypto syncing only through simplified sliding sync (its e2ee extension brings one-time key
// counts and device lists, its to_device extension the Olm-encrypted room keys) decrypts what a /sync
// client sends in an encrypted room, and the other way round, in both deployments.
import { ClientEvent, MatrixEventEvent, RoomEvent, SyncState, type MatrixClient as SdkClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import { SlidingSync } from 'matrix-js-sdk/lib/sliding-sync.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  MatrixClient, quietSdkRootLogger, recordingSdkLogger, sdkClientFor, startSyncing, startTestServer, waitForEmit,
  type ServerMode, type TestServer,
} from '../harness/index.ts';

const TIMEOUT_MS = 30_000;

/** The next live encrypted event from someone else in `roomId`, once `client` decrypted it. */
const nextDecrypted = async (client: SdkClient, roomId: string, what: string): Promise<MatrixEvent> => {
  const [event] = await waitForEmit<[MatrixEvent, Room | undefined, boolean | undefined]>(client, RoomEvent.Timeline,
    (candidate, room, toStart) => room?.roomId === roomId && toStart !== true
      && candidate.getWireType() === 'm.room.encrypted' && candidate.getSender() !== client.getUserId(), what, TIMEOUT_MS);
  if (event.isBeingDecrypted() || event.getClearContent() === null) {
    await waitForEmit<[MatrixEvent]>(event as never, MatrixEventEvent.Decrypted, () => event.getClearContent() !== null || event.isDecryptionFailure(),
      `${what} decrypted`, TIMEOUT_MS);
  }
  return event;
};

/**
 * Resolves once `client` has synced the room's m.room.encryption: a client that has not yet sends
 * in clear (seen under load: bob's message reached alice as a plain m.room.message).
 */
const encryptionKnown = async (client: SdkClient, roomId: string): Promise<void> => {
  await vi.waitFor(async () => expect(await client.getCrypto()!.isEncryptionEnabledInRoom(roomId)).toBe(true), { timeout: TIMEOUT_MS, interval: 50 });
};

describe.each<ServerMode>(['embedded', 'distributed'])('Rust crypto over sliding sync (%s)', (mode) => {
  let server: TestServer;
  let alice: SdkClient;
  let bob: SdkClient;
  let roomId: string;
  const logger = recordingSdkLogger();
  /** matrix-sdk-crypto's own warnings and errors (it logs through the console). */
  const cryptoProblems: string[] = [];

  beforeAll(async () => {
    quietSdkRootLogger();
    // The wasm crypto traces at debug level to the console: keep its warnings and errors only.
    vi.spyOn(console, 'debug').mockImplementation(() => undefined);
    vi.spyOn(console, 'info').mockImplementation(() => undefined);
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => { cryptoProblems.push(args.join(' ')); });
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => { cryptoProblems.push(args.join(' ')); });
    server = await startTestServer({ mode });
    const http = new MatrixClient(server.url);
    alice = sdkClientFor(server.url, await http.register('alice'), logger);
    bob = sdkClientFor(server.url, await http.register('bob'), logger);
    await Promise.all([alice.initRustCrypto({ useIndexedDB: false }), bob.initRustCrypto({ useIndexedDB: false })]);
    const lists = new Map([['all', { ranges: [[0, 9]], timeline_limit: 10, required_state: [['*', '*']] }]]);
    const slidingSync = new SlidingSync(server.url, lists, { timeline_limit: 10, required_state: [['*', '*']] }, alice, 5000);
    const prepared = waitForEmit<[SyncState]>(alice, ClientEvent.Sync, (state) => state === SyncState.Prepared, 'alice’s first sliding sync', TIMEOUT_MS);
    await alice.startClient({ slidingSync });
    await prepared;
    await startSyncing(bob, TIMEOUT_MS);
  }, 120_000);
  afterAll(async () => {
    alice?.stopClient();
    bob?.stopClient();
    vi.restoreAllMocks();
    await server?.stop();
  });

  it('decrypts a /sync client’s message, and the other way round', async () => {
    ({ room_id: roomId } = await bob.createRoom({
      name: 'Secret', invite: [alice.getUserId()!],
      initial_state: [{ type: 'm.room.encryption', state_key: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } }],
    }));
    const invited = waitForEmit<[Room]>(alice, ClientEvent.Room, (room) => room.roomId === roomId, 'alice to see the room', TIMEOUT_MS);
    await invited;
    await alice.joinRoom(roomId);

    const received = nextDecrypted(alice, roomId, 'bob’s message at alice');
    await encryptionKnown(bob, roomId);
    await bob.sendTextMessage(roomId, 'for alice only');
    const event = await received;
    expect(event.isDecryptionFailure()).toBe(false);
    expect(event.getContent()).toMatchObject({ body: 'for alice only' });

    const back = nextDecrypted(bob, roomId, 'alice’s message at bob');
    await encryptionKnown(alice, roomId);
    await alice.sendTextMessage(roomId, 'and back');
    expect((await back).getContent()).toMatchObject({ body: 'and back' });
    // The SDK's sliding sync client hands a new room's state to its MatrixRTC manager before it
    // stores the room (SlidingSyncSdk's order), which that manager reports: the SDK's, not ours.
    const sdkOwn = '[MatrixRTCSessionManager] Got room state event for unknown room';
    expect([...logger.problems, ...cryptoProblems].filter((line) => !line.includes(sdkOwn))).toEqual([]);
  });
});
