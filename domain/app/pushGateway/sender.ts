/**
 * Pushing one accepted room event, or an invite to a room this server is not in
 * (client-server-api/modules/push.md § Receiving notifications):
 * each recipient's push rules are evaluated over the event with the push context as it stood
 * when the event arrived, as the unread counts do (../notifications), and `counts.unread` is the
 * recipient's badge over all their rooms (badge.ts). As Synapse, a user is not pushed the
 * non-state events of a user they ignore, nor (modules/ignore_users.md) their invites.
 */
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { RoomReadModel, StoredEvent, SyncReadModel } from '../../ports/rooms.ts';
import type { MembershipOutOfBand } from '../../room/records.ts';
import type { Pusher, PusherStore } from '../../ports/userData.ts';
import type { EvaluableRuleset, PushEvaluation } from '../../push/index.ts';
import { evaluateEvents, pushRoomState } from '../notifications/index.ts';
import { hiddenByIgnoring, ignoredBy, inviteHidden, type UserPreferences } from '../rooms/index.ts';
import type { SyncContext } from '../sync/index.ts';
import type { UserData } from '../userData/index.ts';
import { unreadBadge } from './badge.ts';
import { badgeRequest, fallbackRoomName, notifyRequest, stateString, type NotificationDetails, type NotifyRequest } from './payload.ts';
import { httpPushers, isLocalUser, isPushable, pushRecipients } from './targets.ts';

/** Posts one request to a push gateway; resolves with the pushkeys it rejected (none when it gave up). */
export interface PushGateway {
  notify(request: NotifyRequest): Promise<string[]>;
}

export interface PushSenderContext {
  readonly serverName: string;
  readonly rooms: Pick<RoomReadModel, 'event' | 'members' | 'stateEvent'>;
  readonly sync: Pick<SyncReadModel, 'unreadWindow'>;
  readonly pushers: Pick<PusherStore, 'list' | 'delete'>;
  readonly userData: Pick<UserData, 'getPushRules'>;
  readonly gateway: PushGateway;
  /** The /sync context: the badge sums the unread counts /sync serves. */
  readonly counts: SyncContext;
  /** Ignored users (m.ignored_user_list); absent: nobody is ignored. */
  readonly preferences?: UserPreferences;
  /**
   * The badge each pusher was last sent (Synapse's `badge_count_last_call`), by pusherKey: a read
   * receipt sends a badge update only when it differs. Absent: no badge updates.
   */
  readonly sentBadges?: Map<string, number>;
}

const pusherKey = (pusher: Pusher): string => JSON.stringify([pusher.userId, pusher.appId, pusher.pushkey]);

/** The invitee of an invite is pushed too (`.m.rule.invite_for_me`), though not joined. */
const inviteeOf = (event: StoredEvent): string | undefined =>
  event.type === 'm.room.member' && event.stateKey !== null && stateString(event, 'membership') === 'invite' ? event.stateKey : undefined;

/**
 * Whether the user must not be told of `event`: an ignored user's message, or an invite /sync would
 * not serve (modules/ignore_users.md: "Servers must not send room invites from ignored users to
 * clients"; modules/invite_permission.md).
 */
const hiddenFrom = async (ctx: PushSenderContext, userId: string, event: StoredEvent): Promise<boolean> => {
  const ignored = await ignoredBy(ctx.preferences, userId);
  if (hiddenByIgnoring(event, ignored)) return true;
  if (inviteeOf(event) !== userId) return false;
  return inviteHidden(event.sender, { ignored, blocksInvites: (await ctx.preferences?.blocksInvites(userId)) ?? false });
};

/** The recipient's rules over `event`, with the room's push context just before it; undefined when it does not notify them. */
const evaluateFor = async (ctx: PushSenderContext, userId: string, event: StoredEvent): Promise<PushEvaluation | undefined> => {
  if (await hiddenFrom(ctx, userId, event)) return undefined;
  const [ruleset, window] = await Promise.all([
    ctx.userData.getPushRules({ userId, deviceId: '' }),
    ctx.sync.unreadWindow(event.roomId, userId, event.offset - 1, event.offset + 1, true),
  ]);
  const own = evaluateEvents(ruleset as EvaluableRuleset, userId, pushRoomState(window.stateBefore ?? { joinedMembers: 0 }), window.events)
    .evaluated.find((entry) => entry.event.eventId === event.eventId);
  return own !== undefined && own.evaluation.notify ? own.evaluation : undefined;
};

const deliver = async (ctx: PushSenderContext, pusher: Pusher, request: NotifyRequest): Promise<void> => {
  const unread = request.body.notification !== undefined && isJsonObject(request.body.notification) && isJsonObject(request.body.notification.counts)
    ? request.body.notification.counts.unread : undefined;
  if (typeof unread === 'number') ctx.sentBadges?.set(pusherKey(pusher), unread);
  const rejected = await ctx.gateway.notify(request);
  // push-gateway-api: "the homeserver should remove the pushers of these pushkeys".
  if (rejected.includes(pusher.pushkey)) await ctx.pushers.delete(pusher.userId, pusher.appId, pusher.pushkey);
};

/**
 * Pushes `event` to whoever it notifies; resolves once every gateway answered or was given up on.
 * `withPushers`, when known, limits the recipients to users who have an http pusher.
 */
export const pushEvent = async (ctx: PushSenderContext, event: StoredEvent, withPushers?: ReadonlySet<string>): Promise<number> => {
  if (!isPushable(event)) return 0;
  const members = await ctx.rooms.members(event.roomId, event.offset);
  const recipients = pushRecipients(members, event.sender, ctx.serverName);
  const invitee = inviteeOf(event);
  if (invitee !== undefined && invitee !== event.sender && !recipients.includes(invitee) && isLocalUser(invitee, ctx.serverName)) {
    recipients.push(invitee);
  }
  const candidates = withPushers === undefined ? recipients : recipients.filter((userId) => withPushers.has(userId));
  const targets = (await Promise.all(candidates.map(async (userId) => ({ userId, pushers: httpPushers(await ctx.pushers.list(userId)) }))))
    .filter((target) => target.pushers.length > 0);
  if (targets.length === 0) return 0;
  const [senderMember, name, alias] = await Promise.all([
    ctx.rooms.stateEvent(event.roomId, 'm.room.member', event.sender),
    ctx.rooms.stateEvent(event.roomId, 'm.room.name', ''),
    ctx.rooms.stateEvent(event.roomId, 'm.room.canonical_alias', ''),
  ]);
  const room = {
    // A sender without a display name is named by their user id, as Synapse's name_from_member_event.
    senderDisplayName: senderMember === undefined ? undefined : stateString(senderMember, 'displayname') ?? event.sender,
    roomName: stateString(name, 'name'), roomAlias: stateString(alias, 'alias'),
  };
  // Without an m.room.name, each recipient gets the room's name as Synapse computes it for them.
  const roomNameFor = (userId: string): string | undefined => room.roomName ?? fallbackRoomName(room.roomAlias, members, userId);
  const requests = await Promise.all(targets.map(async ({ userId, pushers }) => {
    const evaluation = await evaluateFor(ctx, userId, event);
    if (evaluation === undefined) return [];
    const roomName = roomNameFor(userId);
    const details: NotificationDetails = {
      unread: await unreadBadge(ctx.counts, userId),
      ...(room.senderDisplayName === undefined ? {} : { senderDisplayName: room.senderDisplayName }),
      ...(roomName === undefined ? {} : { roomName }),
      ...(room.roomAlias === undefined ? {} : { roomAlias: room.roomAlias }),
    };
    return pushers.flatMap((pusher) => {
      const request = notifyRequest(pusher, userId, event, evaluation, details);
      return request === undefined ? [] : [{ pusher, request }];
    });
  }));
  const all = requests.flat();
  await Promise.all(all.map(({ pusher, request }) => deliver(ctx, pusher, request)));
  return all.length;
};

/** The invite a `membership.outOfBand` record carries, as the event it is (at its log position). */
export const outOfBandEvent = (record: MembershipOutOfBand, at: { readonly partition: number; readonly offset: number }): StoredEvent => {
  const { pdu } = record;
  return {
    eventId: record.eventId, roomId: record.roomId, roomVersion: record.roomVersion, partition: at.partition, offset: at.offset,
    type: String(pdu.type), stateKey: typeof pdu.state_key === 'string' ? pdu.state_key : null, sender: String(pdu.sender),
    originServerTs: Number(pdu.origin_server_ts), pdu, redactedBecause: null, local: null, replacesState: null, prevContent: null,
  };
};

/** The content of the stripped state event of `type` and `stateKey`, if the inviting server sent one. */
const strippedContent = (strippedState: readonly JsonObject[], type: string, stateKey: string): JsonObject | undefined => {
  const found = strippedState.find((event) => event.type === type && event.state_key === stateKey);
  return found !== undefined && isJsonObject(found.content) ? found.content : undefined;
};

const nonEmpty = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * An invite of a local user into a room this server is not in (`membership.outOfBand`), pushed as
 * Synapse pushes such an invite: the invitee's rules over it with no room context (none is held),
 * and the room's name and the inviter's display name from the stripped state the inviting server
 * sent. An invite /sync would not serve (an ignored inviter, invites blocked) is not pushed.
 */
export const pushOutOfBandInvite = async (
  ctx: PushSenderContext, event: StoredEvent, strippedState: readonly JsonObject[], withPushers?: ReadonlySet<string>,
): Promise<number> => {
  const invitee = inviteeOf(event);
  if (invitee === undefined || !isLocalUser(invitee, ctx.serverName) || (withPushers !== undefined && !withPushers.has(invitee))) return 0;
  const pushers = httpPushers(await ctx.pushers.list(invitee));
  if (pushers.length === 0) return 0;
  if (await hiddenFrom(ctx, invitee, event)) return 0;
  const ruleset = await ctx.userData.getPushRules({ userId: invitee, deviceId: '' });
  const [own] = evaluateEvents(ruleset as EvaluableRuleset, invitee, pushRoomState({ joinedMembers: 0 }), [event]).evaluated;
  if (own === undefined || !own.evaluation.notify) return 0;
  const senderDisplayName = nonEmpty(strippedContent(strippedState, 'm.room.member', event.sender)?.displayname);
  const roomName = nonEmpty(strippedContent(strippedState, 'm.room.name', '')?.name);
  const details: NotificationDetails = {
    unread: await unreadBadge(ctx.counts, invitee),
    ...(senderDisplayName === undefined ? {} : { senderDisplayName }),
    ...(roomName === undefined ? {} : { roomName }),
  };
  const requests = pushers.flatMap((pusher) => {
    const request = notifyRequest(pusher, invitee, event, own.evaluation, details);
    return request === undefined ? [] : [{ pusher, request }];
  });
  await Promise.all(requests.map(({ pusher, request }) => deliver(ctx, pusher, request)));
  return requests.length;
};

/**
 * After a read receipt of `userId`: each of their http pushers whose last badge differs from the
 * badge now is sent a badge update (payload.ts `badgeRequest`), so the app's badge drops when the
 * user reads elsewhere, as Synapse's `on_new_receipts`.
 */
export const pushBadge = async (ctx: PushSenderContext, userId: string): Promise<number> => {
  if (ctx.sentBadges === undefined) return 0;
  const pushers = httpPushers(await ctx.pushers.list(userId));
  if (pushers.length === 0) return 0;
  const unread = await unreadBadge(ctx.counts, userId);
  const requests = pushers.flatMap((pusher) => {
    if (ctx.sentBadges?.get(pusherKey(pusher)) === unread) return [];
    const request = badgeRequest(pusher, unread);
    return request === undefined ? [] : [{ pusher, request }];
  });
  await Promise.all(requests.map(({ pusher, request }) => deliver(ctx, pusher, request)));
  return requests.length;
};
