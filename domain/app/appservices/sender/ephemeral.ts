/**
 * Ephemeral data and to-device messages for bridges that opted in (`receive_ephemeral`, MSC2409 /
 * MSC4203; Synapse's `ApplicationServicesHandler.notify_interested_services_ephemeral`), in the
 * shapes Synapse sends: `m.typing` and `m.receipt` of rooms the bridge is interested in (private
 * receipts never), `m.presence` of its users and of users sharing a room with them, and to-device
 * messages for its users with `to_user_id` / `to_device_id`.
 */
import { isInterestedInUser, type AppserviceRegistration } from '../../../appservices/index.ts';
import type { JsonObject } from '../../../json.ts';
import type { PresenceState, Receipt } from '../../../ports/userData.ts';
import { presenceContent, receiptContents } from '../../userData/index.ts';

export const typingEvent = (roomId: string, userIds: readonly string[]): JsonObject =>
  ({ type: 'm.typing', room_id: roomId, content: { user_ids: [...userIds] } });

/** One `m.receipt` event per room, private receipts left out (they are for their owner alone). */
export const receiptEvents = (receipts: readonly Receipt[]): JsonObject[] => {
  // receiptContents keeps a private receipt only for its owner: no user id is the bridge's viewer.
  const contents = receiptContents('', receipts.filter((receipt) => receipt.receiptType !== 'm.read.private'));
  return [...contents].map(([roomId, content]) => ({ type: 'm.receipt', room_id: roomId, content }));
};

export const presenceEvent = (state: PresenceState, now: number): JsonObject =>
  ({ type: 'm.presence', sender: state.userId, content: presenceContent(state, now) });

/** A to-device message as a bridge gets it. */
export interface ToDeviceForBridge {
  readonly userId: string;
  readonly deviceId: string;
  readonly sender: string;
  readonly type: string;
  readonly content: JsonObject;
}

export const toDeviceEvent = (message: ToDeviceForBridge): JsonObject => ({
  type: message.type, sender: message.sender, content: message.content, to_user_id: message.userId, to_device_id: message.deviceId,
});

/**
 * Whether a notifier key (a user id or a room id, domain/app/notifier) may mean news for the bridge:
 * one of its users (to-device, presence of someone sharing a room with it), or any room (typing and
 * receipts; which rooms interest the bridge is decided when they are read).
 */
export const mayConcern = (registration: AppserviceRegistration, key: string): boolean =>
  key.startsWith('!') || (key.startsWith('@') && isInterestedInUser(registration, key));
