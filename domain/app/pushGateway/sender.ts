/**
 * Pushing one accepted room event (client-server-api/modules/push.md § Receiving notifications):
 * each recipient's push rules are evaluated over the room's events since their read receipt, with
 * the push context as the unread counts use it (../notifications), so the pushed event notifies
 * exactly when it counts as unread, and `counts.unread` is that room's count. Synapse sends the
 * count over every room; this server counts the event's room only (a badge that grows with the
 * room's unread notifications and drops when it is read), from the recipient's read receipt or
 * else their latest membership event, over at most UNREAD_SCAN_RECORDS records.
 */
import type { RoomReadModel, StoredEvent, SyncReadModel } from '../../ports/rooms.ts';
import type { Pusher, PusherStore } from '../../ports/userData.ts';
import type { EvaluableRuleset, PushEvaluation } from '../../push/index.ts';
import { evaluateEvents, pushRoomState, readPositions, tally } from '../notifications/index.ts';
import type { UserData } from '../userData/index.ts';
import { notifyRequest, stateString, type NotificationDetails, type NotifyRequest } from './payload.ts';
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
  readonly userData: Pick<UserData, 'getPushRules' | 'streams'>;
  readonly gateway: PushGateway;
}

/**
 * How far back (in log records of the room's partition) unread events are counted: a user who
 * never sends a read receipt would otherwise have their whole history evaluated on every push.
 */
export const UNREAD_SCAN_RECORDS = 1000;

/** The invitee of an invite is pushed too (`.m.rule.invite_for_me`), though not joined. */
const inviteeOf = (event: StoredEvent): string | undefined =>
  event.type === 'm.room.member' && event.stateKey !== null && stateString(event, 'membership') === 'invite' ? event.stateKey : undefined;

/**
 * Evaluates the recipient's rules up to `event`; undefined when it does not notify them. Unread
 * events are counted from their read receipt, or else from `memberSince` (the offset of their
 * membership event: the room's history from before they joined is not theirs to read).
 */
const evaluateFor = async (
  ctx: PushSenderContext, userId: string, event: StoredEvent, memberSince: number,
): Promise<{ evaluation: PushEvaluation; unread: number } | undefined> => {
  const read = (await readPositions(ctx, userId, [event.roomId])).get(event.roomId)!;
  const after = Math.max(read.unthreaded, Math.min(memberSince, event.offset - 1), event.offset - UNREAD_SCAN_RECORDS);
  const [ruleset, window] = await Promise.all([
    ctx.userData.getPushRules({ userId, deviceId: '' }),
    ctx.sync.unreadWindow(event.roomId, userId, after, event.offset + 1, true),
  ]);
  const { evaluated } = evaluateEvents(ruleset as EvaluableRuleset, userId, pushRoomState(window.stateBefore ?? { joinedMembers: 0 }), window.events);
  const own = evaluated.find((entry) => entry.event.eventId === event.eventId);
  if (own === undefined || !own.evaluation.notify) return undefined;
  let unread = 0;
  for (const counts of tally(new Map(), evaluated, read).values()) unread += counts.notifications;
  return { evaluation: own.evaluation, unread };
};

const deliver = async (ctx: PushSenderContext, pusher: Pusher, request: NotifyRequest): Promise<void> => {
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
  const memberSince = new Map(members.map((member) => [member.stateKey, member.offset]));
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
    senderDisplayName: stateString(senderMember, 'displayname'), roomName: stateString(name, 'name'), roomAlias: stateString(alias, 'alias'),
  };
  const requests = await Promise.all(targets.map(async ({ userId, pushers }) => {
    const outcome = await evaluateFor(ctx, userId, event, memberSince.get(userId) ?? event.offset - 1);
    if (outcome === undefined) return [];
    const details: NotificationDetails = {
      unread: outcome.unread,
      ...(room.senderDisplayName === undefined ? {} : { senderDisplayName: room.senderDisplayName }),
      ...(room.roomName === undefined ? {} : { roomName: room.roomName }),
      ...(room.roomAlias === undefined ? {} : { roomAlias: room.roomAlias }),
    };
    return pushers.flatMap((pusher) => {
      const request = notifyRequest(pusher, userId, event, outcome.evaluation, details);
      return request === undefined ? [] : [{ pusher, request }];
    });
  }));
  const all = requests.flat();
  await Promise.all(all.map(({ pusher, request }) => deliver(ctx, pusher, request)));
  return all.length;
};
