/**
 * `unread_notifications` (and `unread_thread_notifications`): the user's push rules evaluated over
 * the events after their read receipts (client-server-api/modules/push.md § Receiving
 * notifications). Counts are remembered between syncs (see countUnread): a client that never
 * sends a read receipt would otherwise have its whole history since joining evaluated on every sync.
 */
import { BoundedMap } from '../../boundedMap.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { StoredEvent, UnreadWindow, UserMembershipChange } from '../../ports/rooms.ts';
import type { AccountDataEntry } from '../../ports/userData.ts';
import type { EvaluableRuleset } from '../../push/index.ts';
import {
  countFrom, evaluateEvents, pushRoomState, readUpTo, readUpToKey, tally, unreadFields,
  type Counts, type OwnReceipt, type PushRoomState, type ReadUpTo,
} from '../notifications/index.ts';
import type { SyncContext } from './context.ts';
import { rememberAnswer } from './memo.ts';
import { hiddenByIgnoring } from '../rooms/index.ts';

export type { Counts } from '../notifications/index.ts';

interface CachedCounts {
  /** The window's start, and the receipts and rules the counts were made with. */
  readonly after: number;
  readonly key: string;
  /** The window's end (exclusive) and the push context as of it. */
  readonly to: number;
  readonly state: PushRoomState;
  readonly counts: ReadonlyMap<string, Counts>;
}

/** Per `user\0room`, least recently used dropped first. */
export type UnreadCounts = BoundedMap<string, CachedCounts>;
export const MAX_UNREAD_COUNTS = 100_000;

/** The user's push rules and a key that changes when they do. */
export interface UserRules {
  readonly ruleset: EvaluableRuleset;
  readonly key: string;
  /** Senders the user ignores (m.ignored_user_list): their events never count. */
  readonly ignored?: ReadonlySet<string>;
}

/** The rules with the user's ignored senders folded in (and into the key, so cached counts follow the list). */
export const withIgnoredSenders = (rules: UserRules, ignored: ReadonlySet<string> | undefined): UserRules =>
  ignored === undefined || ignored.size === 0 ? rules
    : { ...rules, ignored, key: `${rules.key}/${fingerprint([...ignored].sort().join('\u0000'))}` };

const rulesPerSync = new WeakMap<object, Promise<UserRules>>();

/** The user's account data changes a sync read: the entries of (since, upTo]. */
export interface AccountDataWindow {
  readonly since: number;
  readonly upTo: number;
  readonly entries: readonly AccountDataEntry[];
}

/** Rules read once, valid as of an account-data stream position (they are at least that new). */
interface RememberedRules {
  readonly position: number;
  readonly answer: Promise<UserRules>;
}

/** Per server (keyed by its user-data use-cases), per user; least recently used dropped first. */
const rememberedRules = new WeakMap<object, BoundedMap<string, RememberedRules>>();
const MAX_REMEMBERED_RULES = 10_000;

/** A short fingerprint of the rules (two FNV-style hashes and the length): cached counts keep it, not a copy of the rules. */
const fingerprint = (text: string): string => {
  let a = 0x811c9dc5;
  let b = 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return `${(a >>> 0).toString(36)}.${(b >>> 0).toString(36)}.${text.length}`;
};

const readRules = (ctx: SyncContext, userId: string): Promise<UserRules> =>
  ctx.userData.getPushRules({ userId, deviceId: '' })
    .then((ruleset) => ({ ruleset: ruleset as EvaluableRuleset, key: fingerprint(JSON.stringify(ruleset)) }));

/**
 * Push rules live in account data (`m.push_rules`), so rules remembered at position p still hold
 * at `upTo` when the user's changes of (p, upTo], which this sync read anyway, hold no new
 * `m.push_rules`: re-read only when they moved, not on every /sync.
 */
const rulesAsOf = (ctx: SyncContext, userId: string, window: AccountDataWindow): Promise<UserRules> => {
  let byUser = rememberedRules.get(ctx.userData);
  if (byUser === undefined) rememberedRules.set(ctx.userData, (byUser = new BoundedMap(MAX_REMEMBERED_RULES)));
  const known = byUser.get(userId);
  const unchanged = known !== undefined && known.position >= window.since && known.position <= window.upTo
    && !window.entries.some((entry) => entry.roomId === null && entry.type === 'm.push_rules' && entry.position > known.position);
  const rules = unchanged ? known.answer : readRules(ctx, userId);
  rememberAnswer(byUser, userId, { position: window.upTo, answer: rules });
  return rules;
};

/**
 * The user's push rules, read once per `sync` (any object that lives as long as one response);
 * with the sync's account data window, remembered across syncs while they did not change.
 */
export const userRules = (ctx: SyncContext, userId: string, sync: object, accountData?: AccountDataWindow): Promise<UserRules> => {
  let rules = rulesPerSync.get(sync);
  if (rules === undefined) {
    rules = accountData === undefined ? readRules(ctx, userId) : rulesAsOf(ctx, userId, accountData);
    rulesPerSync.set(sync, rules);
  }
  return rules;
};

/** Events evaluated per read: the window is read in chunks so a long unread history is never held at once. */
export const UNREAD_CHUNK = 500;

/**
 * Every event of the room at offsets in [from, to), oldest first, read already (the /sync
 * timeline when it was neither limited, filtered nor cut by history visibility).
 */
export interface KnownEvents {
  readonly from: number;
  readonly to: number;
  readonly events: readonly StoredEvent[];
}

/**
 * The unread window (after, to) from `known` when it covers it and no state is needed: the
 * timeline of an incremental /sync is, in the common case, exactly the new unread events.
 * As unreadWindow: the user's own events count only as state or redactions.
 */
const knownWindow = (known: KnownEvents | undefined, userId: string, after: number, to: number): UnreadWindow | undefined => {
  if (known === undefined || known.to !== to || known.from > after + 1 || known.events.length >= UNREAD_CHUNK) return undefined;
  return {
    events: known.events.filter((event) => event.offset > after
      && (event.sender !== userId || event.stateKey !== null || event.type === 'm.room.redaction')),
  };
};

/** The ids a redaction may name: top-level `redacts` before v11, `content.redacts` since (either is looked at). */
const redactedIds = (redaction: StoredEvent): string[] => {
  const content = redaction.pdu.content;
  return [redaction.pdu.redacts, isJsonObject(content) ? content.redacts : undefined].filter((id): id is string => typeof id === 'string');
};

/**
 * Whether redactions met while extending a count made up to `countedTo` change what was counted,
 * so the count must be made afresh: a redacted event counted before (after `after`) may have
 * notified, and a redacted state event may be part of the push context carried over. A target
 * read with the new events is already redacted there; an unknown one was never counted. A
 * redaction that names no target (itself redacted: before v11 that strips `redacts`) may have
 * struck anything.
 */
const strikesCounted = async (
  ctx: SyncContext, roomId: string, redactions: readonly StoredEvent[], after: number, countedTo: number,
): Promise<boolean> => {
  const ids = redactions.map(redactedIds);
  if (ids.some((named) => named.length === 0)) return true;
  const targets = await Promise.all(ids.flat().map((id) => ctx.rooms.event(id)));
  return targets.some((target) => target !== undefined && target.roomId === roomId && target.offset < countedTo
    && (target.offset > after || target.stateKey !== null));
};

/**
 * Evaluates (from, to) chunk by chunk, adding to `counts`. Starting from `state`, or from the
 * read model's state at `from` when none is known. Undefined when `stopAt` says a redaction met
 * changes what was counted before.
 */
const evaluateRange = async (
  ctx: SyncContext, roomId: string, userId: string, range: { from: number; to: number }, start: PushRoomState | undefined,
  rules: UserRules, read: ReadUpTo, counts: ReadonlyMap<string, Counts>,
  stopAt: ((redactions: readonly StoredEvent[]) => Promise<boolean>) | undefined, known?: KnownEvents,
): Promise<{ state: PushRoomState; counts: ReadonlyMap<string, Counts> } | undefined> => {
  let state = start;
  let from = range.from;
  for (;;) {
    const window = (state === undefined ? undefined : knownWindow(known, userId, from, range.to))
      ?? await ctx.sync.unreadWindow(roomId, userId, from, range.to, state === undefined, UNREAD_CHUNK);
    const redactions = stopAt === undefined ? [] : window.events.filter((event) => event.type === 'm.room.redaction');
    if (redactions.length > 0 && await stopAt!(redactions)) return undefined;
    const evaluated = evaluateEvents(rules.ruleset, userId, state ?? pushRoomState(window.stateBefore ?? { joinedMembers: 0 }), window.events);
    state = evaluated.state;
    const ignored = rules.ignored;
    counts = tally(counts, ignored === undefined ? evaluated.evaluated
      : evaluated.evaluated.filter(({ event }) => !hiddenByIgnoring(event, ignored)), read);
    if (window.events.length < UNREAD_CHUNK) return { state, counts };
    from = window.events[window.events.length - 1]!.offset;
  }
};

/**
 * Per-thread counts of (countFrom(read), to). Evaluating the whole window on every sync costs as
 * much as the history since the receipt; an earlier count of the same window start, receipts and
 * rules is extended by the events from its end instead, so a response costs as much as its new
 * events. A redaction among those striking an event counted before (strikesCounted), a moved
 * receipt or changed rules mean counting afresh.
 */
export const countUnread = async (
  ctx: SyncContext, roomId: string, userId: string, read: ReadUpTo, to: number, rules: UserRules, cache: UnreadCounts | undefined,
  known?: KnownEvents,
): Promise<ReadonlyMap<string, Counts>> => {
  const cacheKey = `${userId}\u0000${roomId}`;
  const after = countFrom(read);
  const key = `${readUpToKey(read)}\u0000${rules.key}`;
  const cached = cache?.get(cacheKey);
  let entry: CachedCounts | undefined;
  if (cached !== undefined && cached.after === after && cached.key === key && cached.to <= to) {
    const more = cached.to === to ? cached
      : await evaluateRange(ctx, roomId, userId, { from: Math.max(after, cached.to - 1), to }, cached.state, rules, read, cached.counts,
        (redactions) => strikesCounted(ctx, roomId, redactions, after, cached.to), known);
    if (more !== undefined) entry = { after, key, to, state: more.state, counts: more.counts };
  }
  if (entry === undefined) {
    const fresh = (await evaluateRange(ctx, roomId, userId, { from: after, to }, undefined, rules, read, new Map(), undefined))!;
    entry = { after, key, to, state: fresh.state, counts: fresh.counts };
  }
  cache?.set(cacheKey, entry);
  return entry.counts;
};

export interface UnreadInputs {
  /** The user's own read receipts in the room. */
  readonly ownReceipts: readonly OwnReceipt[];
  /** The user's push rules (read once per sync). */
  readonly rules: UserRules;
  readonly cache?: UnreadCounts;
  /** The filter's `unread_thread_notifications`. */
  readonly threaded: boolean;
  /** Events of the window read already (the timeline), saving the unread window's read. */
  readonly known?: KnownEvents;
}

/**
 * The room's `unread_notifications` (and `unread_thread_notifications`) fields: notifying events
 * from others after the user's read receipts, or after their last join when they sent none.
 */
export const unreadNotifications = async (
  ctx: SyncContext, roomId: string, userId: string, changes: readonly UserMembershipChange[], to: number, inputs: UnreadInputs,
): Promise<JsonObject> => {
  const offsets = new Map<string, number>();
  await Promise.all(inputs.ownReceipts.map(async ({ eventId }) => {
    const event = await ctx.rooms.event(eventId);
    if (event !== undefined && event.roomId === roomId) offsets.set(eventId, event.offset);
  }));
  const lastJoin = changes.findLast((change) => change.roomId === roomId && change.membership === 'join')?.offset ?? -1;
  const counts = await countUnread(ctx, roomId, userId, readUpTo(inputs.ownReceipts, offsets, lastJoin), to, inputs.rules, inputs.cache, inputs.known);
  return unreadFields(counts, inputs.threaded);
};
