/**
 * `GET /notifications` (notifications.yaml): the events the user was, or would have been, notified
 * about, newest first across their rooms. Nothing is stored at send time: each page scans a bounded
 * number of candidate events and evaluates the user's push rules over them as /sync's counts do,
 * leaving out the events of users they ignore as /sync's counts do (modules/ignore_users.md).
 * Pending invites are listed too (`.m.rule.invite_for_me`; Synapse stores push actions for the
 * invitee), unless /sync would not serve them: from an ignored user, or while invites are blocked.
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { NotificationCandidate, NotificationReadModel, RoomReadModel, StoredEvent, SyncReadModel } from '../../ports/rooms.ts';
import type { EvaluableRuleset, PushEvaluation } from '../../push/index.ts';
import { clientEvent, hiddenByIgnoring, ignoredBy, inviteHidden, type UserPreferences } from '../rooms/index.ts';
import type { UserData } from '../userData/index.ts';
import { isRead } from './counts.ts';
import { evaluateEvents, pushRoomState, type EvaluatedEvent } from './evaluation.ts';
import { readPositions } from './readPositions.ts';

export interface NotificationsContext {
  readonly rooms: Pick<RoomReadModel, 'event'>;
  readonly sync: Pick<SyncReadModel, 'unreadWindow'>;
  readonly notifications: NotificationReadModel;
  readonly userData: Pick<UserData, 'getPushRules' | 'getPushers' | 'streams'>;
  readonly clock: { now(): number };
  /** Ignored users (m.ignored_user_list); absent: nobody is ignored. */
  readonly preferences?: UserPreferences;
}

export interface NotificationsRequest {
  readonly from?: string;
  readonly limit?: number;
  /** `highlight`: only notifications with the highlight tweak. */
  readonly only?: string;
}

export interface NotificationsRequester {
  readonly userId: string;
  readonly deviceId: string;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;
/** Candidate events scanned per page at most; a page that finds fewer notifications still gives a next_token. */
export const SCAN_BUDGET = 200;

interface Cursor {
  readonly ts: number;
  readonly eventId: string;
}

const TOKEN = /^([0-9]{1,16})_(\$.+)$/;

/** `next_token`: the (origin_server_ts, event id) the next page starts strictly below. */
const encodeCursor = (cursor: Cursor): string => `${cursor.ts}_${cursor.eventId}`;

const parseCursor = (token: string): Cursor => {
  const match = TOKEN.exec(token);
  if (match === null) throw new MatrixError('M_INVALID_PARAM', 400, "Invalid 'from' token");
  return { ts: Number(match[1]), eventId: match[2]! };
};

/** Evaluates the candidates of one room, with the push context as it stood at each. */
const evaluateRoom = async (
  ctx: NotificationsContext, userId: string, ruleset: EvaluableRuleset, candidates: readonly NotificationCandidate[],
): Promise<EvaluatedEvent[]> => {
  const offsets = candidates.map((candidate) => candidate.offset);
  const from = Math.min(...offsets);
  const window = await ctx.sync.unreadWindow(candidates[0]!.roomId, userId, from - 1, Math.max(...offsets) + 1, true);
  return evaluateEvents(ruleset, userId, pushRoomState(window.stateBefore ?? { joinedMembers: 0 }), window.events).evaluated;
};

/**
 * Whether this is an invite of the user that /sync does not serve: one from a user they ignore (as
 * Synapse's /sync, which skips invites whose sender the user ignores), or any while they block
 * invites (modules/invite_permission.md: such invites "MUST NOT be served over client
 * synchronisation endpoints"). An ignored user's other state events still notify.
 */
const hiddenInvite = (event: StoredEvent, userId: string, ignored: ReadonlySet<string>, blocksInvites: boolean): boolean =>
  event.type === 'm.room.member' && event.stateKey === userId && isJsonObject(event.pdu.content)
  && event.pdu.content.membership === 'invite' && inviteHidden(event.sender, { ignored, blocksInvites });

/**
 * `profile_tag`, "the profile tag of the rule that matched this event": push rules belong to the
 * user, not to a profile, so the tag is the one the user's pushers were set with (the earliest
 * set, when several carry one). Absent when none does: the spec types it a string, and Synapse,
 * which stores no tag, answers null.
 */
const profileTagOf = (pushers: JsonObject): string | undefined => {
  const list = Array.isArray(pushers.pushers) ? pushers.pushers.filter(isJsonObject) : [];
  const tag = list.map((pusher) => pusher.profile_tag).find((value): value is string => typeof value === 'string' && value !== '');
  return tag;
};

const notificationOf = (
  event: StoredEvent, evaluation: PushEvaluation, read: boolean, requester: NotificationsRequester, now: number, profileTag: string | undefined,
): JsonObject => {
  const { room_id: _roomId, ...formatted } = clientEvent(event, requester, now);
  return {
    actions: [...evaluation.actions], event: formatted, read, room_id: event.roomId, ts: event.originServerTs,
    ...(profileTag === undefined ? {} : { profile_tag: profileTag }),
  };
};

export const getNotifications = async (
  ctx: NotificationsContext, requester: NotificationsRequester, request: NotificationsRequest,
): Promise<JsonObject> => {
  const limit = Math.min(Math.max(request.limit ?? DEFAULT_LIMIT, 1), MAX_LIMIT);
  const cursor = request.from === undefined ? undefined : parseCursor(request.from);
  const { userId } = requester;
  const [ruleset, candidates, ignored, blocksInvites, pushers] = await Promise.all([
    ctx.userData.getPushRules(requester),
    ctx.notifications.candidates(userId, cursor, SCAN_BUDGET),
    ignoredBy(ctx.preferences, userId),
    ctx.preferences?.blocksInvites(userId) ?? false,
    ctx.userData.getPushers(requester),
  ]);
  const profileTag = profileTagOf(pushers);
  const byRoom = new Map<string, NotificationCandidate[]>();
  for (const candidate of candidates) byRoom.set(candidate.roomId, [...(byRoom.get(candidate.roomId) ?? []), candidate]);
  const evaluatedRooms = await Promise.all([...byRoom.values()].map((list) => evaluateRoom(ctx, userId, ruleset as EvaluableRuleset, list)));
  const evaluated = new Map(evaluatedRooms.flat().map((entry) => [entry.event.eventId, entry]));

  const picked: { candidate: NotificationCandidate; entry: EvaluatedEvent }[] = [];
  for (const candidate of candidates) {
    const entry = evaluated.get(candidate.eventId);
    if (entry === undefined || !entry.evaluation.notify || (request.only === 'highlight' && !entry.evaluation.highlight)) continue;
    // As Synapse, which never records a notification of an ignored user's non-state event for the ignoring user.
    if (hiddenByIgnoring(entry.event, ignored)) continue;
    if (hiddenInvite(entry.event, userId, ignored, blocksInvites)) continue;
    picked.push({ candidate, entry });
    if (picked.length === limit) break;
  }
  const reads = await readPositions(ctx, userId, [...new Set(picked.map(({ candidate }) => candidate.roomId))]);
  const now = ctx.clock.now();
  const notifications = picked.map(({ candidate, entry }) => {
    const read = reads.get(candidate.roomId);
    return notificationOf(entry.event, entry.evaluation, read !== undefined && isRead(read, entry.thread, candidate.offset), requester, now, profileTag);
  });
  // A full page continues after its last notification; a page cut by the scan budget after the last
  // event scanned; a scan that reached the oldest event ends the list.
  const last = picked.length === limit ? picked[picked.length - 1]!.candidate
    : candidates.length === SCAN_BUDGET ? candidates[candidates.length - 1]! : undefined;
  return { notifications, ...(last === undefined ? {} : { next_token: encodeCursor({ ts: last.ts, eventId: last.eventId }) }) };
};
