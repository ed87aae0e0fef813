// The inbound EDU receiver: what each EDU changes, what its origin may speak for (joined users,
// rooms it is in, users sharing a room with ours), bounds, and that bad input never fails the
// transaction while a durable EDU that could not be stored does.
import { describe, expect, it } from 'vitest';
import type { PresenceState, Receipt } from '../../../ports/userData.ts';
import type { RemoteToDeviceMessage } from '../../userData/remoteEdus.ts';
import { EDU_LIMITS } from './limits.ts';
import { createEduReceiver, type EduReceiverContext } from './receiver.ts';

const ORIGIN = 'remote.example';
const alice = `@alice:${ORIGIN}`;
const bob = '@bob:strata.test';
const ROOM = '!room:strata.test';
const OTHER_ROOM = '!other:strata.test';

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

const setup = (overrides: { failToDevice?: boolean; failReceipts?: boolean; bannedIn?: string } = {}) => {
  const calls: unknown[][] = [];
  const skipped: Record<string, unknown>[] = [];
  // Alice is joined to ROOM with Bob; OTHER_ROOM has nobody from her server.
  const joined = new Map([[ROOM, new Set([alice, bob])], [OTHER_ROOM, new Set([bob, '@x:third.example'])]]);
  const ctx: EduReceiverContext = {
    serverName: 'strata.test',
    membership: { isJoined: async (roomId, userId) => joined.get(roomId)?.has(userId) ?? false },
    rooms: {
      serversInRoom: async (roomId) => [...new Set([...(joined.get(roomId) ?? [])].map(serverOf))],
      serversSharingRoomsWith: async (userId) => [...new Set([...joined.values()].filter((m) => m.has(userId)).flatMap((m) => [...m].map(serverOf)))],
    },
    userData: {
      typing: (...a) => { calls.push(['typing', ...a]); },
      receipt: async (receipt: Omit<Receipt, 'position'>) => {
        if (overrides.failReceipts) throw new Error('database down');
        calls.push(['receipt', receipt]);
      },
      presence: async (state: Omit<PresenceState, 'position'>) => { calls.push(['presence', state]); },
      deviceListChanged: async (userId) => { calls.push(['deviceListChanged', userId]); },
      toDevice: async (sender: string, messageId: string, type: string, messages: readonly RemoteToDeviceMessage[]) => {
        if (overrides.failToDevice) throw new Error('database down');
        calls.push(['toDevice', sender, messageId, type, messages]);
        return { duplicate: false, delivered: messages.length };
      },
    },
    clock: { now: () => 1_000_000 },
    log: { warn: (fields) => { skipped.push(fields); } },
    acl: { isServerAllowed: async (roomId, origin) => !(roomId === overrides.bannedIn && origin === ORIGIN) },
  };
  return { receiver: createEduReceiver(ctx), calls, skipped };
};

const typing = (userId: string, roomId = ROOM, on = true) => ({ edu_type: 'm.typing', content: { room_id: roomId, user_id: userId, typing: on } });

describe('the EDU receiver', () => {
  it('applies a joined remote user\'s typing; ignores typing of users not joined or not of the origin', async () => {
    const { receiver, calls, skipped } = setup();
    await receiver.receive(ORIGIN, [typing(alice), typing(alice, OTHER_ROOM), typing(`@carol:${ORIGIN}`), typing(bob), typing(alice, ROOM, false)]);
    expect(calls).toEqual([['typing', ROOM, alice, true], ['typing', ROOM, alice, false]]);
    expect(skipped.map((s) => s.reason)).toEqual([
      'the user is not joined to the room', 'the user is not joined to the room', `user_id ${bob} is not a user of ${ORIGIN}`,
    ]);
  });

  it('ignores typing and receipts from a server the room\'s ACL bans', async () => {
    const { receiver, calls, skipped } = setup({ bannedIn: ROOM });
    await receiver.receive(ORIGIN, [
      typing(alice),
      { edu_type: 'm.receipt', content: { [ROOM]: { 'm.read': { [alice]: { event_ids: ['$e'], data: { ts: 1 } } } } } },
    ]);
    expect(calls).toEqual([]);
    expect(skipped.map((s) => s.reason)).toEqual(['the room\'s server ACL denies the origin', 'the origin is not in the room']);
  });

  it('stores receipts for rooms the origin is in only, as m.read', async () => {
    const { receiver, calls, skipped } = setup();
    const receipt = { event_ids: ['$e'], data: { ts: 42 } };
    await receiver.receive(ORIGIN, [{
      edu_type: 'm.receipt',
      content: { [ROOM]: { 'm.read': { [alice]: receipt } }, [OTHER_ROOM]: { 'm.read': { [alice]: receipt, [`@carol:${ORIGIN}`]: receipt } } },
    }]);
    expect(calls).toEqual([['receipt', { roomId: ROOM, userId: alice, eventId: '$e', ts: 42, receiptType: 'm.read' }]]);
    expect(skipped).toEqual([expect.objectContaining({ reason: 'the origin is not in the room', room_id: OTHER_ROOM })]);
  });

  it('stores presence of remote users sharing a room with ours, last activity from last_active_ago', async () => {
    const { receiver, calls } = setup();
    await receiver.receive(ORIGIN, [{
      edu_type: 'm.presence',
      content: { push: [
        { user_id: alice, presence: 'online', last_active_ago: 500, status_msg: 'here' },
        { user_id: `@stranger:${ORIGIN}`, presence: 'online', last_active_ago: 1 },
      ] },
    }]);
    expect(calls).toEqual([['presence', { userId: alice, presence: 'online', lastActiveTs: 999_500, statusMsg: 'here' }]]);
  });

  it('records one device-list change per user per transaction, for users sharing a room with ours', async () => {
    const { receiver, calls } = setup();
    const update = (userId: string, deviceId: string) => ({ edu_type: 'm.device_list_update', content: { user_id: userId, device_id: deviceId, stream_id: 1 } });
    await receiver.receive(ORIGIN, [
      update(alice, 'A'), update(alice, 'B'), { edu_type: 'm.signing_key_update', content: { user_id: alice } },
      update(`@stranger:${ORIGIN}`, 'S'),
    ]);
    expect(calls).toEqual([['deviceListChanged', alice]]);
  });

  it('hands to-device messages for our users on with the sender\'s message_id', async () => {
    const { receiver, calls } = setup();
    await receiver.receive(ORIGIN, [{
      edu_type: 'm.direct_to_device',
      content: { sender: alice, type: 'm.room.encrypted', message_id: 'abc', messages: { [bob]: { '*': { ciphertext: 'x' } } } },
    }]);
    expect(calls).toEqual([['toDevice', alice, 'abc', 'm.room.encrypted', [{ userId: bob, deviceId: '*', content: { ciphertext: 'x' } }]]]);
  });

  it('never throws on garbage, skips oversized EDUs and those past the transaction bound', async () => {
    const { receiver, calls, skipped } = setup();
    const huge = { edu_type: 'm.typing', content: { room_id: ROOM, user_id: alice, typing: true, pad: 'x'.repeat(EDU_LIMITS.eduBytes) } };
    const cyclic: Record<string, unknown> = { edu_type: 'm.typing' };
    cyclic.content = cyclic;
    await receiver.receive(ORIGIN, [null, 7, 'x', { edu_type: 'm.unknown', content: {} }, huge, cyclic]);
    expect(calls).toEqual([]);
    expect(skipped.map((s) => s.reason)).toEqual(['not an object', 'not an object', 'not an object', 'unknown edu_type', 'oversized', 'oversized']);

    const many = Array.from({ length: EDU_LIMITS.edusPerTransaction + 5 }, () => typing(alice));
    await receiver.receive(ORIGIN, many);
    expect(calls).toHaveLength(EDU_LIMITS.edusPerTransaction);
    expect(skipped.at(-1)).toMatchObject({ skipped: 5 });
  });

  it('logs best-effort failures and goes on; fails the transaction when a to-device message could not be stored', async () => {
    const receipts = setup({ failReceipts: true });
    await receipts.receiver.receive(ORIGIN, [
      { edu_type: 'm.receipt', content: { [ROOM]: { 'm.read': { [alice]: { event_ids: ['$e'], data: { ts: 1 } } } } } }, typing(alice),
    ]);
    expect(receipts.calls).toEqual([['typing', ROOM, alice, true]]);

    const toDevice = setup({ failToDevice: true });
    const edu = { edu_type: 'm.direct_to_device', content: { sender: alice, type: 't', message_id: 'm', messages: { [bob]: { D: {} } } } };
    await expect(toDevice.receiver.receive(ORIGIN, [edu, typing(alice)])).rejects.toThrow('database down');
    // The EDUs after it were applied all the same.
    expect(toDevice.calls).toEqual([['typing', ROOM, alice, true]]);
  });
});
