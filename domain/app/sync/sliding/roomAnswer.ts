/**
 * One room of a sliding sync answer (MSC4186 § RoomResult), against what the connection sent of it
 * before (SentRoom): everything the first time (`initial`), afterwards only what changed — new
 * timeline events, state changes matching `required_state`, a changed name, avatar, membership or
 * DM flag; counts and the bump stamp ride along. Invites and knocks get their stripped state. The
 * timeline and its visibility, unread counts, stripped state and summaries are /sync's own code.
 */
import { MatrixError } from '../../../errors.ts';
import { isJsonObject, type JsonObject } from '../../../json.ts';
import type { StoredEvent, UserMembershipChange } from '../../../ports/rooms.ts';
import type { SlidingRoomSummary } from '../../../ports/slidingSync.ts';
import { clientEvent, roomToken } from '../../rooms/index.ts';
import type { SyncContext } from '../context.ts';
import { ownReceiptsByKey } from '../ownReceipts.ts';
import { strippedRoom } from '../roomSections.ts';
import { visibleFrom } from '../timeline.ts';
import { unreadNotifications, type UnreadCounts, type UserRules } from '../unread.ts';
import { configsKey, exactKeys, lazyMembers, wanted } from './requiredState.ts';
import type { RequiredStateConfig, SentRoom, SlidingHero, SlidingRoomAnswer } from './types.ts';

/** Lazily sent members remembered per room; one forgotten is sent again when needed. */
const MAX_LAZY_MEMBERS_PER_ROOM = 500;
const MAX_HEROES = 5;

export interface RoomRequest {
  readonly summary: SlidingRoomSummary;
  /** The user's membership as of the answer, and their membership changes in the room. */
  readonly membership: string;
  readonly changes: readonly UserMembershipChange[];
  readonly timelineLimit: number;
  readonly requiredState: readonly RequiredStateConfig[];
  readonly lists: readonly string[];
  readonly isDm: boolean;
  readonly sent: SentRoom | undefined;
}

export interface RoomAnswerContext {
  /** The sync context, reading through the user's ignore list. */
  readonly ctx: SyncContext;
  readonly userId: string;
  readonly deviceId: string;
  readonly now: number;
  /** The room's partition position the answer is computed up to (exclusive). */
  readonly to: number;
  /** The connection's position in the room's partition (undefined on a new connection), for `num_live`. */
  readonly since: number | undefined;
  readonly receiptsUpTo: number;
  readonly rules: () => Promise<UserRules>;
  readonly unread: UnreadCounts;
}

export interface RoomOutcome {
  /** Undefined: nothing to send. */
  readonly answer: SlidingRoomAnswer | undefined;
  readonly sent: SentRoom;
}

const contentOf = (event: StoredEvent | undefined): JsonObject => (event !== undefined && isJsonObject(event.pdu.content) ? event.pdu.content : {});
const stringIn = (content: JsonObject, key: string): string | undefined => (typeof content[key] === 'string' ? content[key] : undefined);
const stateKeyOf = (event: StoredEvent): string => `${event.type}\u0000${event.stateKey ?? ''}`;

/** Whether anything could have changed for the room since it was sent: when not, nothing is read. */
export const mayHaveNews = (request: RoomRequest, to: number): boolean => {
  const { sent, summary } = request;
  if (sent === undefined || sent.membership !== request.membership || sent.isDm !== request.isDm) return true;
  if (request.timelineLimit > sent.timelineLimit || configsKey(request.requiredState) !== configsKey(sent.requiredState)) return true;
  if (request.membership === 'invite' || request.membership === 'knock') return false;
  const end = request.membership === 'join' ? to : Math.min(to, (request.changes.at(-1)?.offset ?? to) + 1);
  return Math.min(summary.lastOffset, end - 1) >= sent.upTo;
};

const sentRoom = (request: RoomRequest, upTo: number, changes: Partial<SentRoom> = {}): SentRoom => ({
  upTo, membership: request.membership, timelineLimit: request.timelineLimit, requiredState: request.requiredState,
  lazyMembers: [], name: null, avatar: null, isDm: request.isDm, ...changes,
});

const strippedAnswer = async (rc: RoomAnswerContext, request: RoomRequest): Promise<RoomOutcome> => {
  const latest = request.changes.at(-1)!;
  const section = request.membership === 'knock' ? 'knock' : 'invite';
  const body = await strippedRoom(rc.ctx, { section, roomId: request.summary.roomId, partition: latest.partition, change: latest }, rc.userId);
  const stripped = body[`${section}_state`];
  const events = isJsonObject(stripped) && Array.isArray(stripped.events) ? stripped.events.filter(isJsonObject) : [];
  const initial = request.sent === undefined || request.sent.membership !== request.membership;
  const answer: SlidingRoomAnswer = {
    membership: request.membership, initial, strippedState: events, bumpStamp: request.summary.bumpStamp,
    ...(request.lists.length === 0 ? {} : { lists: request.lists }),
    ...(request.isDm || request.sent?.isDm === true ? { isDm: request.isDm } : {}),
  };
  return { answer: initial || request.sent?.isDm !== request.isDm ? answer : undefined, sent: sentRoom(request, rc.to) };
};

/** `heroes` with their display names and avatars from their member events (MSC4186 StrippedHero). */
const heroesOf = async (ctx: SyncContext, roomId: string, userId: string): Promise<SlidingHero[]> => {
  const { heroes } = await ctx.sync.roomSummary(roomId, userId);
  const members = await ctx.sync.stateEvents(roomId, heroes.slice(0, MAX_HEROES).map((id) => ['m.room.member', id] as const));
  return heroes.slice(0, MAX_HEROES).map((id) => {
    const content = contentOf(members.find((event) => event.stateKey === id));
    const displayname = stringIn(content, 'displayname');
    const avatarUrl = stringIn(content, 'avatar_url');
    return { userId: id, ...(displayname === undefined ? {} : { displayname }), ...(avatarUrl === undefined ? {} : { avatarUrl }) };
  });
};

const unreadCountsOf = async (rc: RoomAnswerContext, request: RoomRequest, to: number): Promise<{ notification: number; highlight: number }> => {
  const { ctx, userId } = rc;
  const roomId = request.summary.roomId;
  const receipts = await ctx.userData.streams.receipts.changesSince(userId, [roomId], 0, rc.receiptsUpTo);
  const own = [...ownReceiptsByKey(userId, receipts.get(roomId)).values()];
  const fields = await unreadNotifications(ctx, roomId, userId, request.changes, to, {
    ownReceipts: own, rules: await rc.rules(), threaded: false, cache: rc.unread,
  });
  const counts = isJsonObject(fields.unread_notifications) ? fields.unread_notifications : {};
  return { notification: Number(counts.notification_count ?? 0), highlight: Number(counts.highlight_count ?? 0) };
};

/** The timeline window: the latest `limit` visible events below `to`, from `lower` on (0: any). */
const readTimeline = async (
  rc: RoomAnswerContext, request: RoomRequest, to: number, lower: number,
): Promise<{ events: StoredEvent[]; limited: boolean; ranges: Awaited<ReturnType<typeof visibleFrom>>['ranges'] }> => {
  const roomId = request.summary.roomId;
  const visible = await visibleFrom(rc.ctx, roomId, rc.userId, { to, ...(lower > 0 ? { from: lower } : {}) }, request.changes);
  const bound = Math.max(lower, visible.from);
  const found = to <= bound ? [] : await visible.ctx.rooms.messages(roomId, { dir: 'b', from: to, to: bound, limit: request.timelineLimit + 1 });
  return { events: found.slice(0, request.timelineLimit).reverse(), limited: found.length > request.timelineLimit, ranges: visible.ranges };
};

export const roomAnswer = async (rc: RoomAnswerContext, request: RoomRequest): Promise<RoomOutcome> => {
  const { ctx, userId } = rc;
  const { sent, summary } = request;
  const roomId = summary.roomId;
  if (!mayHaveNews(request, rc.to)) return { answer: undefined, sent: sent! };
  if (request.membership === 'invite' || request.membership === 'knock') return strippedAnswer(rc, request);

  const latest = request.changes.at(-1)!;
  const joined = request.membership === 'join';
  // A room the user is no longer in is shown up to their leave (what followed is not theirs to see).
  const to = joined ? rc.to : Math.min(rc.to, latest.offset + 1);
  const initial = sent === undefined || (joined && sent.membership !== 'join');
  const expanded = !initial && request.timelineLimit > sent.timelineLimit;
  const lower = initial || expanded ? 0 : sent.upTo;
  const timeline = await readTimeline(rc, request, to, lower);
  const { events } = timeline;

  // State as of the timeline's end, read once and only when needed.
  let stateNow: Promise<StoredEvent[]> | undefined;
  const state = (): Promise<StoredEvent[]> => (stateNow ??= ctx.rooms.stateAt(roomId, to - 1));
  /**
   * The entries of these (type, state key) pairs: of a joined room, read alone from its current
   * state (its timeline runs to now) instead of reading its whole state.
   */
  const stateOf = async (keys: readonly (readonly [string, string])[]): Promise<StoredEvent[]> => {
    if (keys.length === 0) return [];
    if (joined && stateNow === undefined) return ctx.sync.stateEvents(roomId, keys);
    const set = new Set(keys.map(([type, key]) => `${type}\u0000${key}`));
    return (await state()).filter((event) => set.has(stateKeyOf(event)));
  };
  const configs = request.requiredState;
  const exact = exactKeys(configs);
  // `$LAZY` may need the member events of the timeline's senders and of its member events' targets.
  const lazySentBefore = new Set(initial ? [] : sent.lazyMembers);
  const lazyCandidates = !lazyMembers(configs) ? [] : [...new Set(events.flatMap((event) =>
    [event.sender, ...(event.type === 'm.room.member' && event.stateKey !== null ? [event.stateKey] : [])]))].filter((id) => !lazySentBefore.has(id));
  // Exact entries and those members in one read, made when first needed.
  let exactRead: Promise<StoredEvent[]> | undefined;
  const exactNow = (keys: readonly (readonly [string, string])[]): Promise<StoredEvent[]> =>
    (exactRead ??= stateOf([...keys, ...lazyCandidates.map((member) => ['m.room.member', member] as const)]));
  /** What the configs want of the state now. */
  const wantedNow = async (): Promise<StoredEvent[]> =>
    (await (exact === undefined ? state() : exactNow(exact))).filter((event) => wanted(configs, event.type, event.stateKey ?? ''));
  const membersNow = async (members: ReadonlySet<string>): Promise<StoredEvent[]> =>
    (await exactNow(exact ?? [])).filter((event) => event.type === 'm.room.member' && members.has(event.stateKey ?? ''));
  const required: StoredEvent[] = [];
  const stubs: JsonObject[] = [];
  if (initial) {
    required.push(...(await wantedNow()));
  } else {
    const membershipChanged = sent.membership !== request.membership;
    if (timeline.limited || membershipChanged || events.some((event) => event.stateKey !== null)) {
      const [before, now] = await Promise.all([ctx.rooms.stateAt(roomId, sent.upTo - 1), state()]);
      const known = new Set(before.map((event) => event.eventId));
      const present = new Set(now.map(stateKeyOf));
      required.push(...now.filter((event) => !known.has(event.eventId) && wanted(configs, event.type, event.stateKey ?? '')));
      for (const event of before) {
        if (!present.has(stateKeyOf(event)) && wanted(configs, event.type, event.stateKey ?? '')) {
          stubs.push({ type: event.type, state_key: event.stateKey ?? '' });
        }
      }
    }
    // An expanded `required_state` sends what the new configs add (MSC4186 § Changes to required_state).
    if (configsKey(configs) !== configsKey(sent.requiredState)) {
      const have = new Set(required.map((event) => event.eventId));
      for (const event of await wantedNow()) {
        const key = event.stateKey ?? '';
        if (!have.has(event.eventId) && wanted(configs, event.type, key) && !wanted(sent.requiredState, event.type, key)) required.push(event);
      }
    }
  }
  // `$LAZY`: the member events of the timeline's senders and member events' targets not sent before.
  // Member events sent for any reason count as sent.
  const sentMembers = new Set(required.flatMap((event) => (event.type === 'm.room.member' && event.stateKey !== null ? [event.stateKey] : [])));
  let lazySent = [...(initial ? [] : sent.lazyMembers.filter((id) => !sentMembers.has(id))), ...sentMembers];
  if (lazyMembers(configs) && events.length > 0) {
    const already = new Set(lazySent);
    const needed = new Set<string>();
    for (const event of events) {
      if (!already.has(event.sender)) needed.add(event.sender);
      if (event.type === 'm.room.member' && event.stateKey !== null && !already.has(event.stateKey)) needed.add(event.stateKey);
    }
    if (needed.size > 0) {
      const have = new Set(required.map((event) => event.eventId));
      for (const event of await membersNow(needed)) {
        if (!have.has(event.eventId)) required.push(event);
      }
      lazySent = [...lazySent.filter((id) => !needed.has(id)), ...needed];
    }
  }
  lazySent = lazySent.slice(-MAX_LAZY_MEMBERS_PER_ROOM);

  // Name and avatar: a joined room's from its summary; a left room's as of the leave.
  let name: string | null;
  let avatar: string | null;
  let alias: string | null;
  if (joined) {
    ({ name, avatar } = summary);
    alias = summary.canonicalAlias;
  } else {
    const naming = await state();
    const of = (type: string, key: string): string | null => stringIn(contentOf(naming.find((event) => event.type === type && event.stateKey === '')), key) ?? null;
    name = of('m.room.name', 'name');
    avatar = of('m.room.avatar', 'url');
    alias = of('m.room.canonical_alias', 'alias');
  }
  if (name === '') name = null;
  if (avatar === '') avatar = null;

  const membersChanged = [...events, ...required].some((event) => event.type === 'm.room.member');
  const changed = initial || expanded || events.length > 0 || required.length > 0 || stubs.length > 0 || name !== sent.name
    || avatar !== sent.avatar || request.isDm !== sent.isDm || request.membership !== sent.membership;
  const nextSent = sentRoom(request, to, { lazyMembers: lazySent, name, avatar });
  if (!changed) return { answer: undefined, sent: nextSent };

  const viewer = { userId, deviceId: rc.deviceId };
  const timelineEvents = events.map((event) => {
    const { room_id: _roomId, ...rest } = clientEvent(event, viewer, rc.now);
    return rest;
  });
  if (ctx.bundleAggregations !== undefined && timelineEvents.length > 0) {
    const probed = new Map(events.flatMap((event) => (event.hasChildren === undefined ? [] : [[event.eventId, event.hasChildren] as const])));
    try {
      await ctx.bundleAggregations(viewer, roomId, timelineEvents, timeline.ranges, probed);
    } catch (error) {
      // A room the user may no longer read is served without aggregations rather than failing the answer.
      if (!(error instanceof MatrixError)) throw error;
    }
  }
  const requiredState = required.map((event) => {
    const { room_id: _roomId, ...rest } = clientEvent(event, viewer, rc.now);
    return rest;
  });

  const [heroes, unread] = await Promise.all([
    // Heroes from the current members: only for a room the user is in (Synapse sends none otherwise).
    joined && name === null && alias === null && (initial || membersChanged) ? heroesOf(ctx, roomId, userId) : undefined,
    joined ? unreadCountsOf(rc, request, to) : undefined,
  ]);
  const counts = joined ? { joinedCount: summary.joinedCount, invitedCount: summary.invitedCount } : memberCounts(await state());
  const answer: SlidingRoomAnswer = {
    ...(initial || request.membership !== sent.membership ? { membership: request.membership } : {}),
    ...(request.lists.length === 0 ? {} : { lists: request.lists }),
    ...(initial ? (name === null ? {} : { name }) : name !== sent.name ? { name } : {}),
    ...(initial ? (avatar === null ? {} : { avatar }) : avatar !== sent.avatar ? { avatar } : {}),
    ...(heroes === undefined ? {} : { heroes }),
    ...(initial ? (request.isDm ? { isDm: true } : {}) : request.isDm !== sent.isDm ? { isDm: request.isDm } : {}),
    ...(initial ? { initial: true } : {}),
    ...(expanded && events.some((event) => event.offset < sent.upTo) ? { expandedTimeline: true } : {}),
    requiredState: [...requiredState, ...stubs],
    timeline: timelineEvents,
    prevBatch: roomToken(events[0]?.offset ?? to),
    limited: timeline.limited,
    numLive: rc.since === undefined ? 0 : events.filter((event) => event.offset >= rc.since!).length,
    bumpStamp: summary.bumpStamp,
    ...counts,
    ...(unread === undefined ? {} : { notificationCount: unread.notification, highlightCount: unread.highlight }),
  };
  return { answer, sent: nextSent };
};

const memberCounts = (state: readonly StoredEvent[]): { joinedCount: number; invitedCount: number } => {
  let joinedCount = 0;
  let invitedCount = 0;
  for (const event of state) {
    if (event.type !== 'm.room.member') continue;
    const membership = contentOf(event).membership;
    if (membership === 'join') joinedCount += 1;
    if (membership === 'invite') invitedCount += 1;
  }
  return { joinedCount, invitedCount };
};

