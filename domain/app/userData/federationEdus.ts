/**
 * What our users' typing, receipts, presence, keys and to-device messages send to other servers
 * (server-server-api § Typing Notifications, § Receipts, § Presence, § Device Management,
 * § End-to-End Encryption, § Send-to-Device messaging): the pure builder of each EDU, and where it
 * goes.
 * - typing and receipts: the servers with a joined member in the room;
 * - presence, device lists and cross-signing keys: every server sharing a room with the user;
 * - to-device messages: each target user's server, one EDU per server.
 * Typing, receipts and presence are best effort (non-durable): the next change supersedes a lost
 * one. Device lists, signing keys and to-device messages are durable: a lost one leaves a remote
 * server encrypting for stale devices, or a key share never arrives.
 * Without `ctx.federation` nothing is sent; our own server is never a destination.
 */
import { hash } from 'node:crypto';
import type { JsonObject } from '../../json.ts';
import type { Edu } from '../../ports/federationOutbox.ts';
import type { PresenceState } from '../../ports/userData.ts';
import type { UserDataContext } from './context.ts';
import { publicKeyOf, withSignatures } from './crossSigningKeys.ts';
import { presenceContent } from './presence.ts';

export const typingEdu = (roomId: string, userId: string, typing: boolean): Edu => ({
  edu_type: 'm.typing', content: { room_id: roomId, user_id: userId, typing },
});

export interface ReceiptToSend {
  readonly roomId: string;
  readonly userId: string;
  readonly eventId: string;
  readonly threadId?: string;
  readonly ts: number;
}

/** One public read receipt (m.read.private never leaves the server: only its owner may see it). */
export const receiptEdu = (receipt: ReceiptToSend): Edu => ({
  edu_type: 'm.receipt',
  content: {
    [receipt.roomId]: {
      'm.read': {
        [receipt.userId]: {
          event_ids: [receipt.eventId],
          data: { ts: receipt.ts, ...(receipt.threadId === undefined ? {} : { thread_id: receipt.threadId }) },
        },
      },
    },
  },
});

export const presenceEdu = (
  states: readonly Omit<PresenceState, 'position'>[], now: number, granularityMs: number,
): Edu => ({
  edu_type: 'm.presence',
  content: { push: states.map((state) => ({ user_id: state.userId, ...presenceContent({ ...state, position: 0 }, now, granularityMs) })) },
});

export interface DeviceListUpdate {
  readonly userId: string;
  readonly deviceId: string;
  /** The device-list stream position of this change. */
  readonly streamId: number;
  /** The position of the user's change before it, if any. */
  readonly prevIds: readonly number[];
  readonly deleted: boolean;
  readonly keys?: JsonObject;
  readonly displayName?: string;
}

export const deviceListUpdateEdu = (update: DeviceListUpdate): Edu => ({
  edu_type: 'm.device_list_update',
  content: {
    user_id: update.userId,
    device_id: update.deviceId,
    stream_id: update.streamId,
    prev_id: [...update.prevIds],
    deleted: update.deleted,
    ...(update.keys === undefined ? {} : { keys: update.keys }),
    ...(update.displayName === undefined ? {} : { device_display_name: update.displayName }),
  },
});

/** The user-signing key is never part of it: it never leaves its owner's server. */
export const signingKeyUpdateEdu = (userId: string, masterKey: JsonObject | undefined, selfSigningKey: JsonObject | undefined): Edu => ({
  edu_type: 'm.signing_key_update',
  content: {
    user_id: userId,
    ...(masterKey === undefined ? {} : { master_key: masterKey }),
    ...(selfSigningKey === undefined ? {} : { self_signing_key: selfSigningKey }),
  },
});

export type ToDeviceMessages = Record<string, Record<string, JsonObject>>;

export const toDeviceEdu = (sender: string, type: string, messageId: string, messages: ToDeviceMessages): Edu => ({
  edu_type: 'm.direct_to_device', content: { sender, type, message_id: messageId, messages },
});

/**
 * The `message_id` of a client's to-device transaction for one destination: derived, not random,
 * so a client retrying the transaction produces the same id and the destination drops the repeat
 * (m.direct_to_device: "used for idempotence"; at most 32 code points).
 */
export const toDeviceMessageId = (sender: string, deviceId: string, txnId: string, destination: string): string =>
  hash('sha256', JSON.stringify([sender, deviceId, txnId, destination]), 'base64url').slice(0, 32);

const destinations = (ctx: UserDataContext, servers: readonly string[]): string[] =>
  servers.filter((server) => server !== ctx.serverName);

/** Tells the room's other servers that `userId` started or stopped typing. */
export const sendTyping = async (ctx: UserDataContext, roomId: string, userId: string, typing: boolean): Promise<void> => {
  if (ctx.federation === undefined) return;
  const to = destinations(ctx, await ctx.federation.rooms.serversInRoom(roomId));
  if (to.length > 0) await ctx.federation.outbox.sendEdu(to, typingEdu(roomId, userId, typing));
};

export const sendReceipt = async (ctx: UserDataContext, receipt: ReceiptToSend): Promise<void> => {
  if (ctx.federation === undefined) return;
  const to = destinations(ctx, await ctx.federation.rooms.serversInRoom(receipt.roomId));
  if (to.length > 0) await ctx.federation.outbox.sendEdu(to, receiptEdu(receipt));
};

export const sendPresence = async (ctx: Pick<UserDataContext, 'federation' | 'serverName' | 'clock'>, state: Omit<PresenceState, 'position'>, granularityMs: number): Promise<void> => {
  if (ctx.federation === undefined) return;
  const to = (await ctx.federation.rooms.serversSharingRoomsWith(state.userId)).filter((server) => server !== ctx.serverName);
  if (to.length > 0) await ctx.federation.outbox.sendEdu(to, presenceEdu([state], ctx.clock.now(), granularityMs));
};

/** The user's own signatures, as any other server's users may see them (domain/app/federation/keys.ts). */
const ownSignatures = (ctx: UserDataContext, userId: string) => ctx.stores.crossSigning.signaturesOn(userId, [userId]);

/**
 * Announces the change the key store just recorded for `userId`'s `deviceIds`: one
 * m.device_list_update per device, carrying the device's keys (with the owner's signatures) and
 * display name, or `deleted` for a device that is gone (`deleted`, or no longer listed). `stream_id` is the change's position in the
 * device-list stream and `prev_id` the user's change before it; a destination that never saw that
 * one resyncs through `/user/devices`, which answers with a later position.
 */
export const sendDeviceListUpdates = async (
  ctx: UserDataContext, userId: string, deviceIds: readonly string[], deleted = false,
): Promise<void> => {
  if (ctx.federation === undefined || deviceIds.length === 0) return;
  const to = destinations(ctx, await ctx.federation.rooms.serversSharingRoomsWith(userId));
  if (to.length === 0) return;
  const [streamId, ...prevIds] = await ctx.stores.keys.latestDeviceListChanges(userId, 2);
  if (streamId === undefined) return;
  const [devices, stored, signatures] = await Promise.all([
    ctx.devices.listDevices(userId), ctx.stores.keys.getDeviceKeys(userId, deviceIds), ownSignatures(ctx, userId),
  ]);
  const named = new Map(devices.map((device) => [device.deviceId, device.displayName]));
  for (const deviceId of deviceIds) {
    const exists = !deleted && named.has(deviceId);
    const keys = stored.get(deviceId);
    const displayName = named.get(deviceId);
    await ctx.federation.outbox.sendEdu(to, deviceListUpdateEdu({
      userId, deviceId, streamId, prevIds, deleted: !exists,
      ...(exists && keys !== undefined ? { keys: withSignatures(keys, deviceId, signatures) } : {}),
      ...(exists && displayName !== undefined ? { displayName } : {}),
    }), { durable: true });
  }
};

/** Announces `userId`'s master and self-signing keys as they now stand (with the owner's signatures). */
export const sendSigningKeyUpdate = async (ctx: UserDataContext, userId: string): Promise<void> => {
  if (ctx.federation === undefined) return;
  const to = destinations(ctx, await ctx.federation.rooms.serversSharingRoomsWith(userId));
  if (to.length === 0) return;
  const [keys, signatures] = await Promise.all([ctx.stores.crossSigning.getKeys(userId), ownSignatures(ctx, userId)]);
  const masterId = keys.master === undefined ? undefined : publicKeyOf(keys.master)?.key;
  const master = keys.master === undefined || masterId === undefined ? undefined : withSignatures(keys.master, masterId, signatures);
  if (master === undefined && keys.self_signing === undefined) return;
  await ctx.federation.outbox.sendEdu(to, signingKeyUpdateEdu(userId, master, keys.self_signing), { durable: true });
};

/** One client to-device transaction's messages for remote users, grouped by their server. */
export const sendRemoteToDevice = async (
  ctx: UserDataContext, sender: { readonly userId: string; readonly deviceId: string }, type: string, txnId: string,
  byServer: ReadonlyMap<string, ToDeviceMessages>,
): Promise<void> => {
  if (ctx.federation === undefined) return;
  for (const [server, messages] of byServer) {
    if (server === ctx.serverName) continue;
    const messageId = toDeviceMessageId(sender.userId, sender.deviceId, txnId, server);
    await ctx.federation.outbox.sendEdu([server], toDeviceEdu(sender.userId, type, messageId, messages), { durable: true });
  }
};
