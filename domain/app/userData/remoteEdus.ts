/**
 * What other servers tell us about their users (server-server-api § EDUs), applied to the streams
 * our own users' changes go through, so /sync shows both alike. The caller
 * (domain/app/federation/edus/) has parsed and bounded each EDU and checked that its origin speaks
 * for these users and rooms; this applies them.
 */
import { userServerName, type UserId } from '../../ids/index.ts';
import type { JsonObject } from '../../json.ts';
import type { PresenceState, Receipt, ToDeviceDelivery } from '../../ports/userData.ts';
import type { UserDataContext } from './context.ts';
import type { Schedule } from './typing.ts';

/**
 * How long a remote user stays typing without news: Synapse's typing FEDERATION_TIMEOUT. Synapse
 * repeats a typing EDU every 40 s while its user types, so a shorter timeout would flicker.
 */
export const REMOTE_TYPING_TIMEOUT_MS = 60_000;

/**
 * A remote user not heard of this long goes offline: Synapse's presence FEDERATION_TIMEOUT (it
 * repeats its users' presence every 20 minutes), so a server that vanished leaves nobody online.
 */
export const REMOTE_PRESENCE_TIMEOUT_MS = 30 * 60_000;

/**
 * The device id a remote sender's to-device transactions are kept under: no local device has an
 * empty id, so a remote `message_id` never meets a local client's transaction id.
 */
export const REMOTE_SENDER_DEVICE = '';

/**
 * Last activity moving by less than this is no news: a server repeating an idle user's presence
 * (Synapse every 20 minutes) would otherwise wake every client sharing a room with them.
 */
const LAST_ACTIVE_DRIFT_MS = 30_000;

const isNews = (previous: PresenceState | undefined, next: Omit<PresenceState, 'position'>): boolean =>
  previous === undefined || previous.presence !== next.presence || previous.statusMsg !== next.statusMsg
  || Math.abs(previous.lastActiveTs - next.lastActiveTs) >= LAST_ACTIVE_DRIFT_MS;

/** One to-device message for one of our users; `deviceId` may be `*` (every device). */
export interface RemoteToDeviceMessage {
  readonly userId: string;
  readonly deviceId: string;
  readonly content: JsonObject;
}

export interface RemoteUserData {
  typing(roomId: string, userId: string, typing: boolean): void;
  receipt(receipt: Omit<Receipt, 'position'>): Promise<void>;
  presence(state: Omit<PresenceState, 'position'>): Promise<void>;
  /** The user's devices or cross-signing keys changed: our users sharing a room with them are told. */
  deviceListChanged(userId: string): Promise<void>;
  /**
   * Queues the messages unless `sender` already sent `messageId` (a retried transaction): then
   * nothing is queued and `duplicate` is true. Messages for devices that do not exist are dropped.
   */
  toDevice(sender: string, messageId: string, type: string, messages: readonly RemoteToDeviceMessage[]): Promise<{ duplicate: boolean; delivered: number }>;
  /** After a restart: remote users stored as present get their timeout again. */
  resume(): Promise<void>;
  /** Cancels the presence timeouts. */
  close(): void;
}

export const createRemoteUserData = (ctx: UserDataContext, schedule: Schedule): RemoteUserData => {
  const presenceTimeouts = new Map<string, () => void>();
  let closed = false;

  const notifySharing = async (userId: string): Promise<void> => {
    ctx.notifier.notify([...(await ctx.membership.usersSharingRoomsWith(userId)), userId]);
  };

  const setPresence = async (state: Omit<PresenceState, 'position'>): Promise<void> => {
    await ctx.stores.presence.set(state);
    await notifySharing(state.userId);
  };

  const expireLater = (state: Omit<PresenceState, 'position'>, ms: number): void => {
    presenceTimeouts.get(state.userId)?.();
    presenceTimeouts.delete(state.userId);
    if (closed || state.presence === 'offline') return;
    presenceTimeouts.set(state.userId, schedule(() => {
      presenceTimeouts.delete(state.userId);
      // A timer has nobody to report to; the next EDU about the user writes again anyway.
      void setPresence({ ...state, presence: 'offline' }).catch(() => undefined);
    }, ms));
  };

  return {
    typing(roomId, userId, typing) {
      ctx.typing.setTyping(roomId, userId, typing, REMOTE_TYPING_TIMEOUT_MS);
    },
    async receipt(receipt) {
      await ctx.stores.receipts.put(receipt);
      ctx.notifier.notify([receipt.roomId]);
    },
    async presence(state) {
      if (isNews(await ctx.stores.presence.get(state.userId), state)) await setPresence(state);
      expireLater(state, REMOTE_PRESENCE_TIMEOUT_MS);
    },
    async deviceListChanged(userId) {
      await ctx.stores.keys.recordDeviceListChange(userId);
      await notifySharing(userId);
    },
    async toDevice(sender, messageId, type, messages) {
      const devicesOf = new Map<string, readonly string[]>();
      const deliveries: ToDeviceDelivery[] = [];
      for (const message of messages) {
        let devices = devicesOf.get(message.userId);
        if (devices === undefined) {
          devices = (await ctx.devices.listDevices(message.userId)).map((device) => device.deviceId);
          devicesOf.set(message.userId, devices);
        }
        const targets = message.deviceId === '*' ? devices : devices.filter((id) => id === message.deviceId);
        for (const deviceId of targets) deliveries.push({ userId: message.userId, deviceId, content: message.content });
      }
      const result = await ctx.stores.toDevice.send({ userId: sender, deviceId: REMOTE_SENDER_DEVICE }, messageId, type, deliveries);
      if (!result.duplicate && deliveries.length > 0) ctx.notifier.notify([...new Set(deliveries.map((delivery) => delivery.userId))]);
      return { duplicate: result.duplicate, delivered: result.duplicate ? 0 : deliveries.length };
    },
    async resume() {
      for (const state of await ctx.stores.presence.present()) {
        if (userServerName(state.userId as UserId) === ctx.serverName) continue;
        // When the last news came is not stored: the full timeout from the restart, as the
        // tracker gives our own users (presenceTracker.ts `resume`).
        expireLater(state, REMOTE_PRESENCE_TIMEOUT_MS);
      }
    },
    close() {
      closed = true;
      for (const cancel of presenceTimeouts.values()) cancel();
      presenceTimeouts.clear();
    },
  };
};
