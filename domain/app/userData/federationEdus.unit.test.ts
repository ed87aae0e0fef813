// What our users' actions queue for other servers: the EDU each builds (schemas in
// server-server-api event-schemas), the destinations (every server in the room or sharing a room
// but ours), durability, and nothing at all without federation.
import { describe, expect, it } from 'vitest';
import type { Edu, FederationOutbox } from '../../ports/federationOutbox.ts';
import type { JsonObject } from '../../json.ts';
import type { CrossSigningKeyType, ToDeviceDelivery } from '../../ports/userData.ts';
import { createInProcessNotifier } from '../notifier/index.ts';
import type { UserDataContext } from './context.ts';
import { uploadCrossSigningKeys } from './crossSigning.ts';
import { deviceListUpdateEdu, presenceEdu, receiptEdu, toDeviceMessageId } from './federationEdus.ts';
import { onDeviceDeleted, uploadKeys } from './keys.ts';
import { sendReceipt, setTyping } from './receipts.ts';
import { sendToDevice } from './toDevice.ts';
import { createTypingStream } from './typing.ts';

const me = { userId: '@me:strata.test', deviceId: 'PHONE' };
const ROOM = '!room:strata.test';

interface Sent { destinations: readonly string[]; edu: Edu; durable: boolean }

const setup = (options: { federation?: boolean } = {}) => {
  const sent: Sent[] = [];
  const outbox: FederationOutbox = {
    sendEdu: async (destinations, edu, opts) => { sent.push({ destinations, edu, durable: opts?.durable === true }); },
  };
  const delivered: ToDeviceDelivery[] = [];
  const deviceKeys = new Map<string, JsonObject>();
  const changes: number[] = [3];
  let crossSigning: Partial<Record<CrossSigningKeyType, JsonObject>> = {};
  const stores = {
    receipts: { put: async () => 1 },
    toDevice: { deleteDevice: async () => undefined, send: async (_s: unknown, _t: string, _type: string, d: readonly ToDeviceDelivery[]) => { delivered.push(...d); return { duplicate: false, position: 1 }; } },
    keys: {
      addOneTimeKeys: async () => [], setFallbackKeys: async () => undefined, oneTimeKeyCounts: async () => ({}),
      setDeviceKeys: async (_u: string, deviceId: string, keys: JsonObject) => { deviceKeys.set(deviceId, keys); changes.unshift(changes[0]! + 4); return true; },
      getDeviceKeys: async (_u: string, ids: readonly string[]) => new Map([...deviceKeys].filter(([id]) => ids.includes(id))),
      deleteDevice: async (_u: string, deviceId: string) => { deviceKeys.delete(deviceId); changes.unshift(changes[0]! + 1); },
      latestDeviceListChanges: async (_u: string, limit: number) => changes.slice(0, limit),
    },
    crossSigning: {
      getKeys: async () => crossSigning,
      setKeys: async (_u: string, keys: typeof crossSigning) => { crossSigning = { ...crossSigning, ...keys }; return true; },
      signaturesOn: async () => [],
    },
  };
  const ctx = {
    serverName: 'strata.test',
    stores,
    notifier: createInProcessNotifier(),
    membership: { isJoined: async () => true, usersSharingRoomsWith: async () => new Set([me.userId]) },
    devices: { listDevices: async (userId: string) => (userId === me.userId ? [...deviceKeys.keys()].map((deviceId) => ({ deviceId, displayName: 'My phone' })) : [{ deviceId: 'D1' }]) },
    clock: { now: () => 10_000 },
    typing: createTypingStream(createInProcessNotifier(), () => () => undefined),
    ...(options.federation === false ? {} : {
      federation: {
        outbox,
        rooms: {
          serversInRoom: async () => ['other.example', 'strata.test', 'third.example:8448'],
          serversSharingRoomsWith: async () => ['other.example', 'strata.test'],
        },
      },
    }),
  } as unknown as UserDataContext;
  return { ctx, sent, delivered };
};

describe('EDU builders', () => {
  it('build the spec\'s shapes', () => {
    expect(receiptEdu({ roomId: ROOM, userId: me.userId, eventId: '$e', threadId: 'main', ts: 5 })).toEqual({
      edu_type: 'm.receipt', content: { [ROOM]: { 'm.read': { [me.userId]: { event_ids: ['$e'], data: { ts: 5, thread_id: 'main' } } } } },
    });
    expect(presenceEdu([{ userId: me.userId, presence: 'online', lastActiveTs: 9_000, statusMsg: 'hi' }], 10_000, 60_000)).toEqual({
      edu_type: 'm.presence',
      content: { push: [{ user_id: me.userId, presence: 'online', last_active_ago: 1_000, currently_active: true, status_msg: 'hi' }] },
    });
    expect(deviceListUpdateEdu({ userId: me.userId, deviceId: 'D', streamId: 9, prevIds: [4], deleted: true })).toEqual({
      edu_type: 'm.device_list_update', content: { user_id: me.userId, device_id: 'D', stream_id: 9, prev_id: [4], deleted: true },
    });
  });

  it('derive a to-device message_id from the transaction, per destination, within 32 code points', () => {
    const id = toDeviceMessageId(me.userId, 'PHONE', 'txn1', 'other.example');
    expect(id).toHaveLength(32);
    expect(toDeviceMessageId(me.userId, 'PHONE', 'txn1', 'other.example')).toBe(id);
    expect(toDeviceMessageId(me.userId, 'PHONE', 'txn2', 'other.example')).not.toBe(id);
    expect(toDeviceMessageId(me.userId, 'PHONE', 'txn1', 'third.example')).not.toBe(id);
  });
});

describe('outbound EDUs from the use-cases', () => {
  it('typing goes to the room\'s other servers, best effort', async () => {
    const { ctx, sent } = setup();
    await setTyping(ctx, me, ROOM, me.userId, { typing: true, timeout: 20_000 });
    expect(sent).toEqual([{
      destinations: ['other.example', 'third.example:8448'], durable: false,
      edu: { edu_type: 'm.typing', content: { room_id: ROOM, user_id: me.userId, typing: true } },
    }]);
  });

  it('a public read receipt goes to the room\'s other servers; a private one stays here', async () => {
    const { ctx, sent } = setup();
    await sendReceipt(ctx, me, ROOM, 'm.read.private', '$e', {});
    expect(sent).toEqual([]);
    await sendReceipt(ctx, me, ROOM, 'm.read', '$e', { thread_id: 'main' });
    expect(sent).toEqual([{ destinations: ['other.example', 'third.example:8448'], durable: false, edu: receiptEdu({ roomId: ROOM, userId: me.userId, eventId: '$e', threadId: 'main', ts: 10_000 }) }]);
  });

  it('to-device messages for remote users leave as one durable EDU per server; ours stay local', async () => {
    const { ctx, sent, delivered } = setup();
    await sendToDevice(ctx, me, 'm.room.encrypted', 'txn1', {
      messages: {
        '@you:other.example': { '*': { a: 1 } },
        '@them:other.example': { D2: { b: 2 } },
        '@far:third.example:8448': { D3: { c: 3 } },
        '@local:strata.test': { D1: { d: 4 } },
      },
    });
    expect(delivered).toEqual([{ userId: '@local:strata.test', deviceId: 'D1', content: { d: 4 } }]);
    expect(sent).toEqual([
      {
        destinations: ['other.example'], durable: true,
        edu: { edu_type: 'm.direct_to_device', content: {
          sender: me.userId, type: 'm.room.encrypted', message_id: toDeviceMessageId(me.userId, 'PHONE', 'txn1', 'other.example'),
          messages: { '@you:other.example': { '*': { a: 1 } }, '@them:other.example': { D2: { b: 2 } } },
        } },
      },
      {
        destinations: ['third.example:8448'], durable: true,
        edu: { edu_type: 'm.direct_to_device', content: {
          sender: me.userId, type: 'm.room.encrypted', message_id: toDeviceMessageId(me.userId, 'PHONE', 'txn1', 'third.example:8448'),
          messages: { '@far:third.example:8448': { D3: { c: 3 } } },
        } },
      },
    ]);
  });

  it('new device keys and a deleted device are announced durably with stream_id and prev_id', async () => {
    const { ctx, sent } = setup();
    const keys = { user_id: me.userId, device_id: 'PHONE', algorithms: ['m.olm.v1.curve25519-aes-sha2'], keys: { 'ed25519:PHONE': 'k' }, signatures: {} };
    await uploadKeys(ctx, me, { device_keys: keys });
    expect(sent).toEqual([{
      destinations: ['other.example'], durable: true,
      edu: deviceListUpdateEdu({ userId: me.userId, deviceId: 'PHONE', streamId: 7, prevIds: [3], deleted: false, keys, displayName: 'My phone' }),
    }]);
    await onDeviceDeleted(ctx, me.userId, 'PHONE');
    expect(sent[1]).toEqual({
      destinations: ['other.example'], durable: true,
      edu: deviceListUpdateEdu({ userId: me.userId, deviceId: 'PHONE', streamId: 8, prevIds: [7], deleted: true }),
    });
  });

  it('uploaded cross-signing keys are announced durably, never the user-signing key', async () => {
    const { ctx, sent } = setup();
    const master = { user_id: me.userId, usage: ['master'], keys: { 'ed25519:MASTER': 'MASTER' } };
    await uploadCrossSigningKeys(ctx, me, { master_key: master }, async () => async () => undefined);
    expect(sent).toEqual([{
      destinations: ['other.example'], durable: true,
      edu: { edu_type: 'm.signing_key_update', content: { user_id: me.userId, master_key: master } },
    }]);
  });

  it('nothing leaves without federation', async () => {
    const { ctx, sent, delivered } = setup({ federation: false });
    await setTyping(ctx, me, ROOM, me.userId, { typing: true });
    await sendReceipt(ctx, me, ROOM, 'm.read', '$e', {});
    await sendToDevice(ctx, me, 't', 'txn', { messages: { '@you:other.example': { D: {} } } });
    expect(sent).toEqual([]);
    expect(delivered).toEqual([]);
  });
});
