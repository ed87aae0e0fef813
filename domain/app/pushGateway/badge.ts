/**
 * `counts.unread` of a push (push-gateway-api § POST /_matrix/push/v1/notify: "The number of
 * unread messages a user has across all of the rooms they are a member of"). As Synapse with its
 * default `push.group_unread_count_by_room: true` (push_tools.get_badge_count): one per room the
 * user is invited to, plus one per joined room with unread notifications. A room's notifications
 * are counted by /sync's own code (sync/unread.ts unreadNotifications, threads included as in an
 * unthreaded /sync), so the badge agrees with what the user's clients show.
 */
import { isJsonObject } from '../../json.ts';
import type { UserMembershipChange } from '../../ports/rooms.ts';
import { ownReceiptsIn } from '../notifications/index.ts';
import { ignoredBy } from '../rooms/index.ts';
import {
  createSyncMemo, rememberingReceiptTargets, unreadNotifications, userRules, withIgnoredSenders, type SyncContext, type SyncMemo,
} from '../sync/index.ts';

/**
 * Per counting context, the part of a /sync memo the badge uses: remembered counts (extended, not
 * recounted, while receipts stay put) and receipt targets.
 */
const remembered = new WeakMap<object, Pick<SyncMemo, 'unread' | 'receiptTargets'>>();

/** The rooms a user is in now, from their membership changes (oldest first): the latest change of each. */
const currentMemberships = (changes: readonly UserMembershipChange[]): UserMembershipChange[] =>
  [...new Map(changes.map((change) => [change.roomId, change])).values()];

/** The user's badge as of the rooms read model's current position. */
export const unreadBadge = async (ctx: SyncContext, userId: string): Promise<number> => {
  let memo = remembered.get(ctx);
  if (memo === undefined) remembered.set(ctx, (memo = createSyncMemo()));
  const { rooms: positions, streams, changes } = await ctx.sync.positionsWithMembershipChanges(userId);
  const current = currentMemberships(changes);
  const invites = current.filter((change) => change.membership === 'invite').length;
  const joined = current.filter((change) => change.membership === 'join');
  if (joined.length === 0) return invites;
  const [receipts, rules, ignored] = await Promise.all([
    ctx.userData.streams.receipts.changesSince(userId, joined.map((change) => change.roomId), 0, streams.receipts),
    userRules(ctx, userId, {}),
    ignoredBy(ctx.preferences, userId),
  ]);
  // Where each receipt points is looked up on every push; an event's room and offset never change.
  const counting: SyncContext = { ...ctx, rooms: rememberingReceiptTargets(ctx.rooms, memo.receiptTargets) };
  const unread = await Promise.all(joined.map(async (change) => {
    // Offsets of the partition past the room's newest event belong to other rooms: ending the
    // window there keeps the remembered count of a quiet room valid without a read.
    const next = positions.get(change.partition) ?? 0;
    const to = change.roomLastOffset === undefined ? next : Math.min(next, change.roomLastOffset + 1);
    const content = receipts.get(change.roomId);
    const fields = await unreadNotifications(counting, change.roomId, userId, changes, to, {
      ownReceipts: content === undefined ? [] : ownReceiptsIn(userId, content),
      rules: withIgnoredSenders(rules, ignored), threaded: false, cache: memo.unread,
    });
    const counts = fields.unread_notifications;
    return isJsonObject(counts) && typeof counts.notification_count === 'number' && counts.notification_count > 0;
  }));
  return invites + unread.filter((hasUnread) => hasUnread).length;
};
