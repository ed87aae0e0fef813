/**
 * The per-room objects of a sync response (sync.yaml: Joined Room, Left Room, Invited Room,
 * Knocked Room). Timeline and state come from timeline.ts; ephemeral events, room account data,
 * unread counts and the summary are added here.
 */
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { AccountDataEntry } from '../../ports/userData.ts';
import type { StoredEvent, UserMembershipChange } from '../../ports/rooms.ts';
import { eventMatches, roomAllowed, type Filter } from '../userData/index.ts';
import type { SyncContext } from './context.ts';
import { strippedStateEvent, type EventFormatter } from './format.ts';
import type { RoomPlan } from './plan.ts';
import { roomTimeline, visibleFrom, type RoomTimeline } from './timeline.ts';
import { countUnread, type UnreadCounts } from './unread.ts';

/** State shown to invitees and knockers (client-server-api § Stripped state: the recommended types). */
const STRIPPED_TYPES = new Set([
  'm.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption', 'm.room.topic',
]);

export interface RoomExtras {
  readonly accountData: readonly AccountDataEntry[];
  /** `m.receipt` content per room changed in the window. */
  readonly receipts: ReadonlyMap<string, JsonObject>;
  /** Rooms whose typing set changed, with who types now. */
  readonly typing: ReadonlyMap<string, readonly string[]>;
  /** The user's own receipt event ids in a room (for unread counts). */
  ownReceipts(roomId: string): Promise<readonly string[]>;
  /** Unread counts computed earlier, so a later sync counts only the events after them. */
  readonly unread?: UnreadCounts;
}

export interface BuiltRoom {
  readonly body: JsonObject;
  readonly timeline: RoomTimeline;
  /** False for an incremental room with nothing new (left out of the response). */
  readonly changed: boolean;
}

const roomAccountData = (extras: RoomExtras, filter: Filter, roomId: string): JsonObject[] =>
  extras.accountData
    .filter((entry) => entry.roomId === roomId && roomAllowed(filter.room.accountData, roomId)
      && eventMatches(filter.room.accountData, { type: entry.type }))
    .map((entry) => ({ type: entry.type, content: entry.content }));

const ephemeralEvents = (extras: RoomExtras, filter: Filter, roomId: string): JsonObject[] => {
  if (!roomAllowed(filter.room.ephemeral, roomId)) return [];
  const events: JsonObject[] = [];
  const typing = extras.typing.get(roomId);
  if (typing !== undefined) events.push({ type: 'm.typing', content: { user_ids: [...typing] } });
  const receipts = extras.receipts.get(roomId);
  if (receipts !== undefined) events.push({ type: 'm.receipt', content: receipts });
  return events.filter((event) => eventMatches(filter.room.ephemeral, { type: String(event.type) }));
};

const contentOf = (event: StoredEvent | undefined): JsonObject =>
  event !== undefined && isJsonObject(event.pdu.content) ? event.pdu.content : {};

/**
 * `unread_notifications`: notifying events from others after the user's read receipt (or their
 * last join when they sent none). `highlight_count` counts mentions: `m.mentions.user_ids`, else
 * the body naming the user's display name or user id — the default push rules' highlight cases;
 * the user's own push rule changes are not evaluated.
 */
const unreadNotifications = async (
  ctx: SyncContext, roomId: string, userId: string, changes: readonly UserMembershipChange[], extras: RoomExtras, to: number,
): Promise<JsonObject> => {
  // The receipts and the member event are independent reads: one round trip instead of two.
  const [receiptOffsets, member] = await Promise.all([
    extras.ownReceipts(roomId).then((ids) => Promise.all(ids.map(async (id) => (await ctx.rooms.event(id))?.offset ?? -1))),
    ctx.rooms.stateEvent(roomId, 'm.room.member', userId),
  ]);
  const lastJoin = changes.findLast((change) => change.membership === 'join')?.offset ?? -1;
  const after = Math.max(lastJoin, ...receiptOffsets);
  const displayName = contentOf(member).displayname;
  const names = typeof displayName === 'string' ? [displayName, userId] : [userId];
  const counts = await countUnread(ctx, roomId, userId, after, to, names, extras.unread);
  return { notification_count: counts.notifications, highlight_count: counts.highlights };
};

/** `summary` (sync.yaml RoomSummary): heroes only when the room has neither a name nor a canonical alias. */
const roomSummary = async (ctx: SyncContext, roomId: string, userId: string): Promise<JsonObject> => {
  const [counts, name, alias] = await Promise.all([
    ctx.sync.roomSummary(roomId, userId),
    ctx.rooms.stateEvent(roomId, 'm.room.name', ''),
    ctx.rooms.stateEvent(roomId, 'm.room.canonical_alias', ''),
  ]);
  const named = typeof contentOf(name).name === 'string' && contentOf(name).name !== '';
  const aliased = typeof contentOf(alias).alias === 'string';
  return {
    ...(named || aliased ? {} : { 'm.heroes': [...counts.heroes] }),
    'm.joined_member_count': counts.joined,
    'm.invited_member_count': counts.invited,
  };
};

export const buildRoom = async (
  ctx: SyncContext, plan: Extract<RoomPlan, { section: 'join' | 'leave' }>, filter: Filter, userId: string,
  format: EventFormatter, extrasReady: RoomExtras | Promise<RoomExtras>,
): Promise<BuiltRoom> => {
  const window = { ...plan.window };
  const visible = await visibleFrom(ctx, plan.roomId, plan.changes);
  const timeline = await roomTimeline(ctx, visible === undefined ? window : { ...window, visibleFrom: visible }, filter, userId);
  const extras = await extrasReady;
  const accountData = roomAccountData(extras, filter, plan.roomId);
  const body: JsonObject = {
    timeline: { events: timeline.events.map(format), limited: timeline.limited, prev_batch: timeline.prevBatch },
    state: { events: timeline.state.map(format) },
    account_data: { events: accountData },
  };
  let changed = plan.newToClient || plan.window.fullState || timeline.events.length > 0 || timeline.state.length > 0 || accountData.length > 0;
  if (plan.section === 'join') {
    const ephemeral = ephemeralEvents(extras, filter, plan.roomId);
    changed ||= ephemeral.length > 0;
    body.ephemeral = { events: ephemeral };
    if (changed) {
      body.unread_notifications = await unreadNotifications(ctx, plan.roomId, userId, plan.changes, extras, window.to);
      const membersChanged = [...timeline.events, ...timeline.state].some((event) => event.type === 'm.room.member');
      if (plan.newToClient || membersChanged) body.summary = await roomSummary(ctx, plan.roomId, userId);
    }
  }
  return { body, timeline, changed };
};

/** `invite_state` / `knock_state`: stripped state as of the membership event, with that event. */
export const strippedRoom = async (ctx: SyncContext, plan: Extract<RoomPlan, { section: 'invite' | 'knock' }>, userId: string): Promise<JsonObject> => {
  const state = await ctx.rooms.stateAt(plan.roomId, plan.change.offset);
  const member = state.find((event) => event.type === 'm.room.member' && event.stateKey === userId);
  const events = state
    .filter((event) => STRIPPED_TYPES.has(event.type)
      || (event.type === 'm.room.member' && (event.stateKey === userId || event.stateKey === member?.sender)))
    .map(strippedStateEvent);
  return plan.section === 'invite' ? { invite_state: { events } } : { knock_state: { events } };
};
