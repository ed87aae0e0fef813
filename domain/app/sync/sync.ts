/**
 * `GET /sync` (client-server-api § Syncing, sync.yaml). Positions of every stream are read first
 * (after the notifier's counter), then each stream's changes up to them, so `next_batch` never
 * skips what was written meanwhile. With `since` and `timeout`, an empty answer waits on the
 * notifier (the user's id and joined room ids) and is computed again; on timeout the `since`
 * token is returned unchanged.
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { UserMembershipChange } from '../../ports/rooms.ts';
import { eventMatches, roomAllowed, type Filter } from '../userData/index.ts';
import type { SyncContext, SyncRequester } from './context.ts';
import { eventFormatter } from './format.ts';
import { planRooms, type RoomPlan } from './plan.ts';
import { buildRoom, strippedRoom, type BuiltRoom, type RoomExtras, type RoomView } from './roomSections.ts';
import { sentMembersOf } from './lazyMembers.ts';
import { createSyncMemo, forgetUserInMemo, type SyncMemo } from './memo.ts';
import { ownReceipts, receiptTargets } from './ownReceipts.ts';
import { updatePresence } from './setPresence.ts';
import { newMemberPresence, type NewMember } from './memberPresence.ts';
import { deviceListDelta } from './deviceLists.ts';
import { keyChanges } from './keyChanges.ts';
import { ignoringContext, servedStrippedRoom, syncPreferences } from './ignored.ts';
import { encodeSyncToken, parseSyncToken, type SyncPositions } from './token.ts';
import { sharingTimelineReads, sharingUnreadWindows } from './sharedReads.ts';

export interface SyncRequest {
  readonly since?: string;
  readonly filter?: string;
  readonly fullState?: boolean;
  /** online (default), offline or unavailable. */
  readonly setPresence?: string;
  readonly timeoutMs?: number;
  /** `use_state_after` (since v1.16): rooms carry `state_after` instead of `state`. */
  readonly useStateAfter?: boolean;
}

const PRESENCE = new Set(['online', 'offline', 'unavailable']);
/** Long-polls are capped so a client cannot hold a request for hours. */
export const MAX_SYNC_TIMEOUT_MS = 300_000;

/**
 * Every stream's position, the rooms projection's and the user-data streams', and the user's
 * membership changes below them: one statement, the first round trip of every computation.
 */
const readPositions = async (ctx: SyncContext, userId: string): Promise<{ upTo: SyncPositions; changes: UserMembershipChange[] }> => {
  const { rooms, streams, changes } = await ctx.sync.positionsWithMembershipChanges(userId);
  return { upTo: { rooms, ...streams, typing: ctx.userData.streams.typing.currentPosition() }, changes };
};

interface Computed {
  readonly body: JsonObject;
  readonly empty: boolean;
  readonly joinedRoomIds: string[];
  /** False when the to-device batch was cut at its limit: more is due without any notification. */
  readonly complete: boolean;
  readonly toDeviceEmpty: boolean;
}

/** One computation of a response: what the request asks, and what earlier responses tell. */
interface Computation {
  readonly filter: Filter;
  readonly since: SyncPositions | undefined;
  readonly upTo: SyncPositions;
  /** The user's membership changes below `upTo`, read with it. */
  readonly changes: readonly UserMembershipChange[];
  readonly fullState: boolean;
  readonly view: RoomView;
  /** The device's to-device messages up to `since` are known acknowledged (nothing to delete). */
  readonly toDeviceAcknowledged: boolean;
  readonly memo: SyncMemo | undefined;
}

const compute = async (ctx: SyncContext, requester: SyncRequester, computation: Computation): Promise<Computed> => {
  const { filter, since, upTo, changes, fullState, memo } = computation;
  const unread = memo?.unread;
  const { userId, deviceId } = requester;
  const streams = ctx.userData.streams;
  const forgotten = since === undefined && filter.room.includeLeave ? await ctx.directory.forgottenRooms(userId) : [];
  const plans = planRooms(changes, {
    upTo: upTo.rooms, ...(since === undefined ? {} : { since: since.rooms }), fullState, includeLeave: filter.room.includeLeave,
    forgotten: new Set(forgotten), roomAllowed: (roomId) => roomAllowed(filter.room, roomId),
  });
  const joinedRoomIds = plans.filter((plan) => plan.section === 'join').map((plan) => plan.roomId);
  const allJoined = [...new Set(changes.filter((c, i, all) => all[i + 1]?.roomId !== c.roomId && c.membership === 'join').map((c) => c.roomId))];

  // A typing stream restarted with the process may be behind the token: start it over.
  const typingSince = since === undefined || since.typing > upTo.typing ? 0 : since.typing;
  // Incrementally, a stream that has not moved since `since` has nothing to say: its query is
  // skipped (most long-poll wake-ups concern one stream only). To-device is read anyway while
  // reading it may acknowledge (delete) what the device had at `since`.
  const moved = (stream: 'accountData' | 'receipts' | 'presence' | 'deviceLists' | 'toDevice'): boolean =>
    since === undefined || since[stream] < upTo[stream];
  const toDeviceRead = moved('toDevice') || !computation.toDeviceAcknowledged;
  // The streams are read while the rooms' timelines are: rooms wait for them only once their
  // timelines are in. Both promises are awaited below; `catch` only keeps a failure that surfaces
  // while the other side is still running from counting as unhandled.
  const accountDataRead = moved('accountData') ? streams.accountData.changesSince(userId, since?.accountData ?? 0, upTo.accountData) : Promise.resolve([]);
  const receiptsRead = moved('receipts')
    ? streams.receipts.changesSince(userId, joinedRoomIds, since?.receipts ?? 0, upTo.receipts) : Promise.resolve(new Map<string, JsonObject>());
  const streamsRead = Promise.all([
    accountDataRead,
    receiptsRead,
    toDeviceRead ? streams.toDevice.changesSince(userId, deviceId, since?.toDevice ?? 0, upTo.toDevice) : { events: [], position: upTo.toDevice },
    streams.keyCounts(userId, deviceId),
    moved('presence') ? streams.presence.changesSince(userId, since?.presence ?? 0, upTo.presence) : [],
  ]);
  const deviceListsRead = since === undefined || !moved('deviceLists')
    ? Promise.resolve([]) : streams.deviceLists.changesSince(userId, since.deviceLists, upTo.deviceLists);
  // Rooms wait for the streams they show (and count unread notifications with), not for the others.
  const extrasReady = Promise.all([accountDataRead, receiptsRead]).then(([accountData, receipts]): RoomExtras => ({
    // From position 0 the stream adds the default push rules (at position 0) for an initial sync;
    // an incremental sync from 0 must not repeat them.
    accountData: since === undefined ? accountData : accountData.filter((entry) => entry.position > since.accountData),
    receipts,
    typing: new Map(streams.typing.changesSince(joinedRoomIds, typingSince, upTo.typing).map((t) => [t.roomId, t.userIds])),
    // Initially the receipts read above are all of them; incrementally the user's own receipt may
    // be older than `since`: remembered, or read for the rooms in the response only.
    ownReceipts: (roomId) => ownReceipts(ctx, userId, roomId, { since: since?.receipts, upTo: upTo.receipts, changed: receipts }, memo),
    ...(unread === undefined ? {} : { unread }),
    accountDataWindow: { since: since?.accountData ?? 0, upTo: upTo.accountData },
  }));
  const preferences = syncPreferences(ctx, userId, {
    ...(since === undefined ? {} : { since: since.accountData }), upTo: upTo.accountData, entries: accountDataRead,
  });
  for (const pending of [streamsRead, deviceListsRead, extrasReady, preferences]) pending.catch(() => undefined);

  const format = eventFormatter(filter, requester, ctx.clock.now());
  const sections: Record<RoomPlan['section'], JsonObject> = { join: {}, invite: {}, knock: {}, leave: {} };
  const built = await Promise.all(plans.map(async (plan) => {
    if ('change' in plan) return { plan, body: await servedStrippedRoom(ctx, plan, preferences, () => strippedRoom(ctx, plan, userId)), room: undefined };
    const room = await buildRoom(ignoringContext(ctx, await preferences), plan, filter, userId, format, extrasReady, computation.view);
    return { plan, body: room.changed ? room.body : undefined, room };
  }));
  for (const { plan, body } of built) if (body !== undefined) sections[plan.section][plan.roomId] = body;
  const [, , toDevice, keyCounts, presence] = await streamsRead;
  const extras = await extrasReady;

  const deviceLists = since === undefined
    ? { changed: [] as string[], left: [] as string[] }
    : await deviceListDelta(ctx, userId, await deviceListsRead, built);

  const globalAccountData = extras.accountData
    .filter((entry) => entry.roomId === null && eventMatches(filter.accountData, { type: entry.type }))
    .map((entry) => ({ type: entry.type, content: entry.content }));
  const changed = new Set(presence.map((event) => String(event.sender)));
  const joinedPresence = since === undefined ? []
    : (await newMemberPresence(ctx, userId, newMembers(built, userId), upTo.presence)).filter((event) => !changed.has(String(event.sender)));
  const presenceEvents = [...presence, ...joinedPresence]
    .filter((event) => eventMatches(filter.presence, { type: 'm.presence', sender: String(event.sender) }));
  const next: SyncPositions = { ...upTo, toDevice: toDevice.position };
  const rooms = Object.fromEntries(Object.entries(sections).filter(([, section]) => Object.keys(section).length > 0));
  const body: JsonObject = {
    next_batch: encodeSyncToken(next),
    ...(Object.keys(rooms).length === 0 ? {} : { rooms }),
    account_data: { events: globalAccountData },
    presence: { events: presenceEvents },
    to_device: { events: toDevice.events },
    device_lists: deviceLists,
    device_one_time_keys_count: { signed_curve25519: 0, ...keyCounts.oneTimeKeyCounts },
    device_unused_fallback_key_types: keyCounts.unusedFallbackKeyTypes,
  };
  const empty = Object.keys(rooms).length === 0 && globalAccountData.length === 0 && presenceEvents.length === 0
    && toDevice.events.length === 0 && deviceLists.changed.length === 0 && deviceLists.left.length === 0;
  return {
    body, empty, joinedRoomIds: allJoined, complete: toDevice.position >= upTo.toDevice, toDeviceEmpty: toDevice.events.length === 0,
  };
};

/**
 * Incrementally, the joins of this response that make the user share a room with someone: their own
 * join of a room new to the client (everyone in it), and others' joins in the rooms it shows (a
 * member changing profile was sharing already). Synapse's `newly_joined_rooms` / `newly_joined_or_invited_users`.
 */
const newMembers = (built: readonly { plan: RoomPlan; room: BuiltRoom | undefined }[], userId: string): NewMember[] => {
  const joins: NewMember[] = [];
  for (const { plan, room } of built) {
    if (plan.section !== 'join' || room === undefined || !room.changed) continue;
    if (plan.newToClient) {
      joins.push({ roomId: plan.roomId, userId });
      continue;
    }
    // Lazy-loading puts older member events in `state` too: only joins since `since` count.
    const since = plan.window.from ?? 0;
    for (const event of [...room.timeline.state, ...room.timeline.events]) {
      const joined = event.offset >= since && event.type === 'm.room.member' && event.stateKey !== null && event.stateKey !== userId
        && isJsonObject(event.pdu.content) && event.pdu.content.membership === 'join' && event.prevContent?.membership !== 'join';
      if (joined) joins.push({ roomId: plan.roomId, userId: event.stateKey! });
    }
  }
  return joins;
};

const resolveFilter = async (ctx: SyncContext, userId: string, param: string | undefined, memo: SyncMemo | undefined): Promise<Filter> => {
  const stored = memo !== undefined && param !== undefined && param !== '' && !param.startsWith('{');
  const key = `${userId}\u0000${param}`;
  const known = stored ? memo.filters.get(key) : undefined;
  if (known !== undefined) return known;
  const filter = await ctx.userData.resolveFilter(userId, param);
  if (stored) {
    memo.filters.set(key, filter);
  }
  return filter;
};

/**
 * Holds a long-poll whose device was answered less than `responseIntervalMs` ago until that much
 * has passed. In a busy room every listener is woken by nearly every event and answers come back
 * with one event each, each answer a request to parse, authenticate, compute and encode again; a
 * short wait lets the events landing meanwhile share it, while a device whose last answer is older
 * (a quiet room's first event) is answered at once. The notifier waits on no key: only the time or
 * the client's disconnect end it.
 */
const paced = async (ctx: SyncContext, answeredAt: number, deadline: number, signal: AbortSignal | undefined): Promise<void> => {
  const now = ctx.clock.now();
  const wait = Math.min(answeredAt + (ctx.responseIntervalMs ?? 0), deadline) - now;
  if (wait > 0) await ctx.notifier.waitFor([], ctx.notifier.current(), wait, signal);
};

export const sync = async (
  ctx: SyncContext, requester: SyncRequester, request: SyncRequest, signal?: AbortSignal, memo?: SyncMemo,
): Promise<JsonObject> => {
  const since = request.since === undefined ? undefined : parseSyncToken(request.since);
  const filter = await resolveFilter(ctx, requester.userId, request.filter, memo);
  const presence = request.setPresence ?? 'online';
  if (!PRESENCE.has(presence)) throw new MatrixError('M_INVALID_PARAM', 400, "'set_presence' must be online, offline or unavailable");
  const fullState = request.fullState === true;
  const deadline = ctx.clock.now() + Math.min(Math.max(request.timeoutMs ?? 0, 0), MAX_SYNC_TIMEOUT_MS);
  const device = `${requester.userId}\u0000${requester.deviceId}`;
  // `set_presence` applies, and the user counts as connected until this long-poll ends
  // (userData's presence tracker); done before the positions are read, so a change shows here.
  await updatePresence(ctx, requester, presence, deadline);
  const quiet = memo?.quiet.get(device);
  const continues = quiet !== undefined && since !== undefined && quiet.token === request.since;
  /** When the notifier last woke this long-poll (performance.now()), for onAnsweredAfterWake. */
  let woken: number | undefined;
  if (continues && !fullState && quiet.filter === request.filter && deadline > ctx.clock.now()) {
    await ctx.notifier.waitFor(quiet.keys, quiet.counter, deadline - ctx.clock.now(), signal);
    woken = performance.now();
    await paced(ctx, quiet.answeredAt, deadline, signal);
  }
  const lazy = filter.room.state.lazyLoadMembers && !filter.room.state.includeRedundantMembers && memo !== undefined;
  const view: RoomView = {
    stateAfter: request.useStateAfter === true,
    deviceId: requester.deviceId,
    ...(lazy ? { sentMembers: sentMembersOf(memo.lazyMembers, device, since === undefined || fullState) } : {}),
    ...(memo === undefined ? {} : { receiptTargets: receiptTargets(ctx.rooms, memo) }),
  };
  // The previous response from `since` held no to-device message: nothing awaits acknowledgement.
  let toDeviceAcknowledged = continues && quiet.toDeviceEmpty;
  for (;;) {
    const counter = ctx.notifier.current();
    const read = await readPositions(ctx, requester.userId);
    const result = await compute(ctx, requester, { filter, since, ...read, fullState, view, toDeviceAcknowledged, memo });
    toDeviceAcknowledged = true;
    const remaining = deadline - ctx.clock.now();
    const keys = [requester.userId, ...result.joinedRoomIds];
    const done = since === undefined || fullState || !result.empty;
    if (done || remaining <= 0 || signal?.aborted === true) {
      const body = done ? result.body : { ...result.body, next_batch: request.since! };
      const remembered = {
        token: String(body.next_batch), filter: request.filter, counter, keys, toDeviceEmpty: result.toDeviceEmpty, answeredAt: ctx.clock.now(),
      };
      if (result.complete) memo?.quiet.set(device, remembered);
      else memo?.quiet.delete(device);
      if (woken !== undefined && since !== undefined && !result.empty) ctx.onAnsweredAfterWake?.((performance.now() - woken) / 1000);
      return body;
    }
    await ctx.notifier.waitFor(keys, counter, remaining, signal);
    woken = performance.now();
  }
};

export interface SyncService {
  sync(requester: SyncRequester, request: SyncRequest, signal?: AbortSignal): Promise<JsonObject>;
  /** `GET /keys/changes` between two /sync tokens (keyChanges.ts). */
  keyChanges(requester: SyncRequester, from: string | undefined, to: string | undefined): Promise<JsonObject>;
  /** Forgets what this service remembers about the user (erasure). */
  forgetUser(userId: string): void;
}

export const createSync = (context: SyncContext): SyncService => {
  const memo = createSyncMemo();
  // The listeners of a room woken by one commit read its timeline and unread window once (sharedReads.ts).
  const ctx: SyncContext = { ...context, rooms: sharingTimelineReads(context.rooms), sync: sharingUnreadWindows(context.sync) };
  return {
    sync: (requester, request, signal) => sync(ctx, requester, request, signal, memo),
    keyChanges: (requester, from, to) => keyChanges(ctx, requester, from, to),
    forgetUser: (userId) => forgetUserInMemo(memo, userId),
  };
};
