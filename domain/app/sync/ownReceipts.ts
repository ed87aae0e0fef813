/**
 * The user's own read receipts in a room, for `unread_notifications`. A sync already reads the
 * receipts that changed in (since, upTo]; with the receipts remembered as of a position at or after
 * `since`, those changes are all that can replace one (a receipt is kept per type and thread, the
 * newest replacing the older), so the room's receipts are read in full only when nothing is
 * remembered. Receipt targets' offsets are remembered too: an event's room and offset never change.
 */
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { RoomReadModel, StoredEvent } from '../../ports/rooms.ts';
import type { OwnReceipt } from '../notifications/index.ts';
import type { SyncContext } from './context.ts';
import type { BoundedMap } from '../../boundedMap.ts';
import type { SyncMemo } from './memo.ts';

const READ_RECEIPT_TYPES = ['m.read', 'm.read.private'];

/** The user's own read receipts in one room's `m.receipt` content, by `type\0thread`. */
export const ownReceiptsByKey = (userId: string, content: JsonObject | undefined): Map<string, OwnReceipt> => {
  const own = new Map<string, OwnReceipt>();
  for (const [eventId, byType] of Object.entries(content ?? {})) {
    if (!isJsonObject(byType)) continue;
    for (const type of READ_RECEIPT_TYPES) {
      const byUser = byType[type];
      const receipt = isJsonObject(byUser) ? byUser[userId] : undefined;
      if (!isJsonObject(receipt)) continue;
      const threadId = typeof receipt.thread_id === 'string' ? receipt.thread_id : undefined;
      own.set(`${type}\u0000${threadId ?? ''}`, threadId === undefined ? { eventId } : { eventId, threadId });
    }
  }
  return own;
};

export interface ReceiptWindow {
  /** The receipts stream position of `since` (undefined: initial sync, `changed` holds every receipt). */
  readonly since: number | undefined;
  readonly upTo: number;
  /** `m.receipt` contents per room changed in (since, upTo] (all of them for an initial sync). */
  readonly changed: ReadonlyMap<string, JsonObject>;
}

export const ownReceipts = async (
  ctx: SyncContext, userId: string, roomId: string, window: ReceiptWindow, memo: SyncMemo | undefined,
): Promise<OwnReceipt[]> => {
  const key = `${userId}\u0000${roomId}`;
  const known = memo?.ownReceipts.get(key);
  let receipts: Map<string, OwnReceipt>;
  if (window.since === undefined) {
    receipts = ownReceiptsByKey(userId, window.changed.get(roomId));
  } else if (known !== undefined && known.position >= window.since && known.position <= window.upTo) {
    receipts = new Map([...known.receipts, ...ownReceiptsByKey(userId, window.changed.get(roomId))]);
  } else {
    const all = await ctx.userData.streams.receipts.changesSince(userId, [roomId], 0, window.upTo);
    receipts = ownReceiptsByKey(userId, all.get(roomId));
  }
  memo?.ownReceipts.set(key, { position: window.upTo, receipts });
  return [...receipts.values()];
};

/**
 * `rooms` whose `event` answers from `remembered` for events it saw before. Only for reading where a
 * receipt points (room and offset): the remembered copy does not follow later redactions, so it
 * keeps no content — an erased or redacted event's content must not outlive it in memory
 * (docs/erasure.md).
 */
export const rememberingReceiptTargets = (rooms: RoomReadModel, remembered: BoundedMap<string, StoredEvent>): RoomReadModel => ({
  ...rooms,
  async event(eventId) {
    const known = remembered.get(eventId);
    if (known !== undefined) return known;
    const event = await rooms.event(eventId);
    if (event !== undefined) remembered.set(eventId, { ...event, pdu: { ...event.pdu, content: {} }, prevContent: null, redactedBecause: null });
    return event;
  },
});

/** /sync's receipt targets, remembered in its memo. */
export const receiptTargets = (rooms: RoomReadModel, memo: SyncMemo | undefined): RoomReadModel =>
  memo === undefined ? rooms : rememberingReceiptTargets(rooms, memo.receiptTargets);
