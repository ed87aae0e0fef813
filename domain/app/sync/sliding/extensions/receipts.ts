/**
 * The `receipts` extension (MSC3960): per room in scope, its `m.receipt` event. A room the
 * connection sends for the first time (or from scratch again: `initial`, or with its timeline
 * expanded) gets the receipts on the timeline events it is sent with, plus the user's own receipts,
 * not every member's (Synapse's behaviour: a big room's receipts would swamp the answer); a room
 * sent before gets the receipts that changed since it was last sent. Others' private receipts are
 * never sent.
 */
import { isJsonObject, type JsonObject } from '../../../../json.ts';
import type { SyncContext } from '../../context.ts';
import { recordSent, type RoomPositions } from './state.ts';

/** What the extension needs of a room's answer. */
export interface RoomSent {
  readonly initial?: boolean;
  /** Sent with more timeline than before (a larger timeline_limit): its receipts are sent anew too. */
  readonly expandedTimeline?: boolean;
  readonly timeline?: readonly JsonObject[];
}

export interface ReceiptsAnswer {
  readonly answer: JsonObject | undefined;
  readonly sent: RoomPositions;
}

/** `m.receipt` content restricted to receipts on `eventIds` and receipts by `userId`. */
export const receiptsForInitialRoom = (content: JsonObject, eventIds: ReadonlySet<string>, userId: string): JsonObject => {
  const kept: JsonObject = {};
  for (const [eventId, byType] of Object.entries(content)) {
    if (!isJsonObject(byType)) continue;
    if (eventIds.has(eventId)) {
      kept[eventId] = byType;
      continue;
    }
    const own: JsonObject = {};
    for (const [type, byUser] of Object.entries(byType)) {
      if (isJsonObject(byUser) && isJsonObject(byUser[userId])) own[type] = { [userId]: byUser[userId] };
    }
    if (Object.keys(own).length > 0) kept[eventId] = own;
  }
  return kept;
};

const eventIdsOf = (room: RoomSent | undefined): Set<string> =>
  new Set((room?.timeline ?? []).flatMap((event) => (typeof event.event_id === 'string' ? [event.event_id] : [])));

export const receiptsAnswer = async (
  ctx: SyncContext, userId: string, roomIds: readonly string[], answered: Readonly<Record<string, RoomSent>>,
  sent: RoomPositions, since: number | undefined, upTo: number,
): Promise<ReceiptsAnswer> => {
  const initial = roomIds.filter((roomId) => !Object.hasOwn(sent, roomId) || answered[roomId]?.initial === true
    || answered[roomId]?.expandedTimeline === true);
  const initialSet = new Set(initial);
  const known = roomIds.filter((roomId) => !initialSet.has(roomId));
  const from = Math.min(...known.map((roomId) => sent[roomId]!));
  const receipts = ctx.userData.streams.receipts;
  const [changed, full] = await Promise.all([
    known.length === 0 || from >= upTo ? new Map<string, JsonObject>() : receipts.changesSince(userId, known, from, upTo),
    initial.length === 0 ? new Map<string, JsonObject>() : receipts.changesSince(userId, initial, 0, upTo),
  ]);
  const rooms: Record<string, JsonObject> = {};
  // Rooms behind the others may be given a receipt they already had: a receipt is the latest of
  // its user, type and thread, so a repeat changes nothing.
  for (const [roomId, content] of changed) if (Object.keys(content).length > 0) rooms[roomId] = { type: 'm.receipt', content };
  for (const [roomId, content] of full) {
    const kept = receiptsForInitialRoom(content, eventIdsOf(answered[roomId]), userId);
    if (Object.keys(kept).length > 0) rooms[roomId] = { type: 'm.receipt', content: kept };
  }
  const next = recordSent(sent, roomIds, upTo);
  if (since !== undefined && Object.keys(rooms).length === 0) return { answer: undefined, sent: next };
  return { answer: { rooms }, sent: next };
};
