/**
 * /sync under the user's preferences: timelines without the non-state events of ignored users
 * (client-server-api/modules/ignore_users.md § Server behaviour: "the sync API … should immediately
 * start ignoring (or un-ignoring) the user"), no invites from them, and no invites at all while the
 * user blocks invites (modules/invite_permission.md: existing invites "MUST NOT be served over
 * client synchronisation endpoints"). Both lists live in account data, so what was read at one
 * account-data position holds while the user's changes since then (which /sync reads anyway) hold
 * no new entry of those types: no extra statement per /sync in the common case.
 */
import { BoundedMap } from '../../boundedMap.ts';
import type { JsonObject } from '../../json.ts';
import type { MessagesQuery, RoomReadModel, StoredEvent } from '../../ports/rooms.ts';
import type { AccountDataEntry } from '../../ports/userData.ts';
import {
  blocksInvitesIn, hiddenByIgnoring, ignoredUsersIn, IGNORED_USER_LIST, INVITE_PERMISSION_CONFIG, inviteHidden, type UserPreferences,
} from '../rooms/index.ts';
import type { SyncContext } from './context.ts';
import { rememberAnswer } from './memo.ts';
import type { RoomPlan } from './plan.ts';

export interface SyncPreferences {
  readonly ignored: ReadonlySet<string>;
  readonly blocksInvites: boolean;
}

export const NO_PREFERENCES: SyncPreferences = { ignored: new Set(), blocksInvites: false };

/** Preferences valid as of an account-data stream position (they are at least that new). */
interface Remembered {
  readonly position: number;
  readonly answer: Promise<SyncPreferences>;
}

/** Per server (keyed by its preferences port), per user; least recently used dropped first. */
const remembered = new WeakMap<object, BoundedMap<string, Remembered>>();
const MAX_REMEMBERED = 10_000;

const TYPES = new Set([IGNORED_USER_LIST, INVITE_PERMISSION_CONFIG]);

const read = async (port: UserPreferences, userId: string): Promise<SyncPreferences> => {
  const [ignored, blocksInvites] = await Promise.all([port.ignoredUsers(userId), port.blocksInvites(userId)]);
  return { ignored, blocksInvites };
};

/** `base` updated with the global entries of the two types among `entries` (the newest content of each). */
export const applyEntries = (base: SyncPreferences, entries: readonly AccountDataEntry[]): SyncPreferences => {
  let preferences = base;
  for (const entry of entries) {
    if (entry.roomId !== null) continue;
    if (entry.type === IGNORED_USER_LIST) preferences = { ...preferences, ignored: ignoredUsersIn(entry.content) };
    else if (entry.type === INVITE_PERMISSION_CONFIG) preferences = { ...preferences, blocksInvites: blocksInvitesIn(entry.content) };
  }
  return preferences;
};

/** The account data positions of one sync and its changes of (since, upTo] (all of it when initial). */
export interface PreferencesWindow {
  readonly since?: number;
  readonly upTo: number;
  readonly entries: Promise<readonly AccountDataEntry[]>;
}

/**
 * The user's preferences as of `window.upTo`: remembered ones when the stream has not moved since,
 * else those updated by the sync's own account-data changes; read through the port only when
 * nothing usable is remembered on an incremental sync.
 */
export const syncPreferences = (ctx: SyncContext, userId: string, window: PreferencesWindow): Promise<SyncPreferences> => {
  const port = ctx.preferences;
  if (port === undefined) return Promise.resolve(NO_PREFERENCES);
  let byUser = remembered.get(port);
  if (byUser === undefined) remembered.set(port, (byUser = new BoundedMap(MAX_REMEMBERED)));
  const known = byUser.get(userId);
  let preferences: Promise<SyncPreferences>;
  if (known !== undefined && known.position === window.upTo) {
    preferences = known.answer;
  } else if (window.since === undefined) {
    // An initial sync reads all of the user's account data.
    preferences = window.entries.then((entries) => applyEntries(NO_PREFERENCES, entries));
  } else if (known !== undefined && known.position >= window.since && known.position <= window.upTo) {
    const base = known.answer;
    preferences = window.entries.then(async (entries) => {
      const newer = entries.filter((entry) => entry.position > known.position && TYPES.has(entry.type));
      return newer.length === 0 ? base : applyEntries(await base, newer);
    });
  } else {
    preferences = read(port, userId);
  }
  rememberAnswer(byUser, userId, { position: window.upTo, answer: preferences });
  return preferences;
};

const MIN_PAGE = 20;

/**
 * The read model without ignored users' non-state events: pages are read on until `limit` events
 * remain or the range ends, so `limited`, `prev_batch` and the state-change probes of timeline.ts
 * count only what the user is sent.
 */
export const ignoringReadModel = (rooms: RoomReadModel, ignored: ReadonlySet<string>): RoomReadModel => {
  if (ignored.size === 0) return rooms;
  const messages = async (roomId: string, query: MessagesQuery): Promise<StoredEvent[]> => {
    if (query.limit <= 0) return [];
    const kept: StoredEvent[] = [];
    let from = query.from;
    for (;;) {
      // Pages of at least MIN_PAGE: a run of ignored events costs few reads even for limit 1.
      const asked = Math.max(query.limit - kept.length, MIN_PAGE);
      const page = await rooms.messages(roomId, { ...query, from, limit: asked });
      for (const event of page) if (!hiddenByIgnoring(event, ignored)) kept.push(event);
      const last = page[page.length - 1];
      if (kept.length >= query.limit || last === undefined || page.length < asked) return kept.slice(0, query.limit);
      from = query.dir === 'b' ? last.offset : last.offset + 1;
    }
  };
  return Object.assign(Object.create(rooms) as RoomReadModel, { messages });
};

/** The sync context a room of this response is built with. */
export const ignoringContext = (ctx: SyncContext, preferences: SyncPreferences): SyncContext =>
  preferences.ignored.size === 0 ? ctx
    : { ...ctx, rooms: ignoringReadModel(ctx.rooms, preferences.ignored), ignoredSenders: preferences.ignored };

/** Whether an invite is served: not while the user blocks invites, nor one from an ignored user. */
export const inviteServed = async (
  ctx: SyncContext, plan: Extract<RoomPlan, { section: 'invite' | 'knock' }>, preferences: SyncPreferences,
): Promise<boolean> => {
  if (plan.section !== 'invite') return true;
  if (preferences.blocksInvites) return false;
  if (preferences.ignored.size === 0 || plan.change.eventId === null) return true;
  const invite = await ctx.rooms.event(plan.change.eventId);
  return invite === undefined || !inviteHidden(invite.sender, preferences);
};

/** A stripped invite (or knock) room, or undefined when it is not served. */
export const servedStrippedRoom = async (
  ctx: SyncContext, plan: Extract<RoomPlan, { section: 'invite' | 'knock' }>, preferences: Promise<SyncPreferences>,
  stripped: () => Promise<JsonObject>,
): Promise<JsonObject | undefined> => (await inviteServed(ctx, plan, await preferences) ? stripped() : undefined);
