/**
 * `GET /sync` (client-server-api § Syncing, sync.yaml). Positions of every stream are read first
 * (after the notifier's counter), then each stream's changes up to them, so `next_batch` never
 * skips what was written meanwhile. With `since` and `timeout`, an empty answer waits on the
 * notifier (the user's id and joined room ids) and is computed again; on timeout the `since`
 * token is returned unchanged.
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import { eventMatches, roomAllowed, type Filter } from '../userData/index.ts';
import type { SyncContext, SyncRequester } from './context.ts';
import { eventFormatter } from './format.ts';
import { planRooms, type RoomPlan } from './plan.ts';
import { buildRoom, strippedRoom, type RoomExtras } from './roomSections.ts';
import { deviceListDelta } from './deviceLists.ts';
import { encodeSyncToken, parseSyncToken, type SyncPositions } from './token.ts';

export interface SyncRequest {
  readonly since?: string;
  readonly filter?: string;
  readonly fullState?: boolean;
  /** online (default), offline or unavailable. */
  readonly setPresence?: string;
  readonly timeoutMs?: number;
}

const PRESENCE = new Set(['online', 'offline', 'unavailable']);
/** Long-polls are capped so a client cannot hold a request for hours. */
export const MAX_SYNC_TIMEOUT_MS = 300_000;

const readPositions = async (ctx: SyncContext): Promise<SyncPositions> => {
  const streams = ctx.userData.streams;
  const [rooms, accountData, receipts, toDevice, deviceLists, presence] = await Promise.all([
    ctx.sync.roomPositions(), streams.accountData.currentPosition(), streams.receipts.currentPosition(),
    streams.toDevice.currentPosition(), streams.deviceLists.currentPosition(), streams.presence.currentPosition(),
  ]);
  return { rooms, accountData, receipts, typing: streams.typing.currentPosition(), toDevice, deviceLists, presence };
};

interface Computed {
  readonly body: JsonObject;
  readonly empty: boolean;
  readonly joinedRoomIds: string[];
}

/** The user's own receipt event ids per room, from `m.receipt` contents. */
const ownReceiptIds = (userId: string, contents: ReadonlyMap<string, JsonObject>): Map<string, string[]> => {
  const own = new Map<string, string[]>();
  for (const [roomId, content] of contents) {
    const ids = Object.entries(content)
      .filter(([, byType]) => ['m.read', 'm.read.private'].some((type) => (byType as Record<string, Record<string, unknown>>)[type]?.[userId] !== undefined))
      .map(([eventId]) => eventId);
    if (ids.length > 0) own.set(roomId, ids);
  }
  return own;
};

const compute = async (
  ctx: SyncContext, requester: SyncRequester, filter: Filter, since: SyncPositions | undefined, upTo: SyncPositions, fullState: boolean,
): Promise<Computed> => {
  const { userId, deviceId } = requester;
  const streams = ctx.userData.streams;
  const [changes, forgotten] = await Promise.all([
    ctx.sync.membershipChanges(userId, upTo.rooms),
    since === undefined && filter.room.includeLeave ? ctx.directory.forgottenRooms(userId) : Promise.resolve([]),
  ]);
  const plans = planRooms(changes, {
    upTo: upTo.rooms, ...(since === undefined ? {} : { since: since.rooms }), fullState, includeLeave: filter.room.includeLeave,
    forgotten: new Set(forgotten), roomAllowed: (roomId) => roomAllowed(filter.room, roomId),
  });
  const joinedRoomIds = plans.filter((plan) => plan.section === 'join').map((plan) => plan.roomId);
  const allJoined = [...new Set(changes.filter((c, i, all) => all[i + 1]?.roomId !== c.roomId && c.membership === 'join').map((c) => c.roomId))];

  // A typing stream restarted with the process may be behind the token: start it over.
  const typingSince = since === undefined || since.typing > upTo.typing ? 0 : since.typing;
  const [accountData, receipts, toDevice, keyCounts, presence] = await Promise.all([
    streams.accountData.changesSince(userId, since?.accountData ?? 0, upTo.accountData),
    streams.receipts.changesSince(userId, joinedRoomIds, since?.receipts ?? 0, upTo.receipts),
    streams.toDevice.changesSince(userId, deviceId, since?.toDevice ?? 0, upTo.toDevice),
    streams.keyCounts(userId, deviceId),
    streams.presence.changesSince(userId, since?.presence ?? 0, upTo.presence),
  ]);
  const extras: RoomExtras = {
    // From position 0 the stream adds the default push rules (at position 0) for an initial sync;
    // an incremental sync from 0 must not repeat them.
    accountData: since === undefined ? accountData : accountData.filter((entry) => entry.position > since.accountData),
    receipts,
    typing: new Map(streams.typing.changesSince(joinedRoomIds, typingSince, upTo.typing).map((t) => [t.roomId, t.userIds])),
    // Initially the receipts read above are all of them; incrementally the user's own receipt may
    // be older than `since`, so it is read for the rooms in the response only.
    ownReceipts: since === undefined
      ? async (roomId) => ownReceiptIds(userId, receipts).get(roomId) ?? []
      : async (roomId) => ownReceiptIds(userId, await streams.receipts.changesSince(userId, [roomId], 0, upTo.receipts)).get(roomId) ?? [],
  };

  const format = eventFormatter(filter, requester, ctx.clock.now());
  const sections: Record<RoomPlan['section'], JsonObject> = { join: {}, invite: {}, knock: {}, leave: {} };
  const built = await Promise.all(plans.map(async (plan) => {
    if ('change' in plan) return { plan, body: await strippedRoom(ctx, plan, userId), room: undefined };
    const room = await buildRoom(ctx, plan, filter, userId, format, extras);
    return { plan, body: room.changed ? room.body : undefined, room };
  }));
  for (const { plan, body } of built) if (body !== undefined) sections[plan.section][plan.roomId] = body;

  const deviceLists = since === undefined
    ? { changed: [] as string[], left: [] as string[] }
    : await deviceListDelta(ctx, userId, await streams.deviceLists.changesSince(userId, since.deviceLists, upTo.deviceLists), built);

  const globalAccountData = extras.accountData
    .filter((entry) => entry.roomId === null && eventMatches(filter.accountData, { type: entry.type }))
    .map((entry) => ({ type: entry.type, content: entry.content }));
  const presenceEvents = presence.filter((event) => eventMatches(filter.presence, { type: 'm.presence', sender: String(event.sender) }));
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
  return { body, empty, joinedRoomIds: allJoined };
};

/** `set_presence`: marks the user unless they are already in that state (no stream churn per poll). */
const updatePresence = async (ctx: SyncContext, requester: SyncRequester, presence: string): Promise<void> => {
  const current = await ctx.userData.getPresence(requester, requester.userId).catch(() => undefined);
  if (current?.presence === presence) return;
  await ctx.userData.setPresence(requester, requester.userId, { presence });
};

export const sync = async (ctx: SyncContext, requester: SyncRequester, request: SyncRequest, signal?: AbortSignal): Promise<JsonObject> => {
  const since = request.since === undefined ? undefined : parseSyncToken(request.since);
  const filter = await ctx.userData.resolveFilter(requester.userId, request.filter);
  const presence = request.setPresence ?? 'online';
  if (!PRESENCE.has(presence)) throw new MatrixError('M_INVALID_PARAM', 400, "'set_presence' must be online, offline or unavailable");
  if (presence !== 'offline') await updatePresence(ctx, requester, presence);
  const fullState = request.fullState === true;
  const deadline = ctx.clock.now() + Math.min(Math.max(request.timeoutMs ?? 0, 0), MAX_SYNC_TIMEOUT_MS);
  for (;;) {
    const counter = ctx.notifier.current();
    const upTo = await readPositions(ctx);
    const result = await compute(ctx, requester, filter, since, upTo, fullState);
    const remaining = deadline - ctx.clock.now();
    if (since === undefined || fullState || !result.empty) return result.body;
    if (remaining <= 0 || signal?.aborted === true) return { ...result.body, next_batch: request.since! };
    await ctx.notifier.waitFor([requester.userId, ...result.joinedRoomIds], counter, remaining, signal);
  }
};

export interface SyncService {
  sync(requester: SyncRequester, request: SyncRequest, signal?: AbortSignal): Promise<JsonObject>;
}

export const createSync = (ctx: SyncContext): SyncService => ({
  sync: (requester, request, signal) => sync(ctx, requester, request, signal),
});
