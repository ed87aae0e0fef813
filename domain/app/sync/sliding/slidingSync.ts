/**
 * Simplified sliding sync (MSC4186), one request: resume the connection at `pos` (M_UNKNOWN_POS when
 * it is unknown or expired), read every stream's position and the user's membership changes below
 * them, rank the user's rooms from the read model's summaries (no room's state is read for that),
 * cut each list's ranges, answer the rooms of the lists and subscriptions that are new to the
 * connection or changed since, and the extensions. An answer with no room and no extension waits on
 * the notifier (as /sync) until something concerning the user or one of their rooms is written, or
 * the timeout passes; then the same `pos` is answered, since nothing was sent.
 */
import { BoundedMap } from '../../../boundedMap.ts';
import type { JsonValue } from '../../../json.ts';
import type { UserMembershipChange } from '../../../ports/rooms.ts';
import type { SlidingRoomsReadModel } from '../../../ports/slidingSync.ts';
import { canonicalJson } from '../../../canonicalJson.ts';
import { inviteHidden } from '../../rooms/ignoring.ts';
import type { SyncContext, SyncRequester } from '../context.ts';
import { ignoringContext, syncPreferences } from '../ignored.ts';
import { updatePresence } from '../setPresence.ts';
import type { SyncPositions } from '../token.ts';
import { MAX_UNREAD_COUNTS, userRules, withIgnoredSenders, type UnreadCounts } from '../unread.ts';
import { createSlidingConnections, type ConnectionHandle, type SlidingConnections } from './connections.ts';
import { extensionsAnswer } from './extensions/index.ts';
import { applyMarks, computeList, inServerList, NO_MARKS, type ListedRoom, type ListResult } from './lists.ts';
import { distinctConfigs } from './requiredState.ts';
import { roomAnswer, type RoomRequest } from './roomAnswer.ts';
import type { ConnectionState, RequiredStateConfig, SentRoom, SlidingRoomAnswer, SlidingSyncAnswer, SlidingSyncRequest } from './types.ts';

export interface SlidingSyncContext extends SyncContext {
  readonly slidingRooms: SlidingRoomsReadModel;
}

/** Rooms whose answers are computed at once (each reads a few statements). */
const ROOM_CONCURRENCY = 8;

const mapConcurrently = async <T, R>(items: readonly T[], limit: number, map: (item: T) => Promise<R>): Promise<R[]> => {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await map(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
};

const byRoom = (changes: readonly UserMembershipChange[]): Map<string, UserMembershipChange[]> => {
  const rooms = new Map<string, UserMembershipChange[]>();
  for (const change of changes) {
    let list = rooms.get(change.roomId);
    if (list === undefined) rooms.set(change.roomId, (list = []));
    list.push(change);
  }
  return rooms;
};

interface ServiceState {
  readonly connections: SlidingConnections;
  readonly unread: UnreadCounts;
}

interface Computed {
  readonly answer: Omit<SlidingSyncAnswer, 'pos'>;
  readonly state: ConnectionState;
  /** Whether the answer holds anything for the client (rooms or extensions). */
  readonly news: boolean;
  readonly keys: readonly string[];
}

const compute = async (
  ctx: SlidingSyncContext, service: ServiceState, requester: SyncRequester, request: SlidingSyncRequest, previous: ConnectionState | undefined,
): Promise<Computed> => {
  const { userId } = requester;
  const { rooms: roomPositions, streams, changes } = await ctx.sync.positionsWithMembershipChanges(userId);
  const upTo: SyncPositions = { rooms: roomPositions, ...streams, typing: ctx.userData.streams.typing.currentPosition() };
  const since = previous?.positions;
  // A connection for extensions alone (Element X's encryption connection) reads nothing of rooms.
  const roomsWanted = Object.keys(request.lists).length > 0 || Object.keys(request.roomSubscriptions).length > 0;
  const marksAt = roomsWanted ? upTo.accountData : previous?.marksAt ?? 0;
  const accountDataFrom = previous?.marksAt ?? 0;
  const [summaries, forgotten, accountData] = roomsWanted ? await Promise.all([
    ctx.slidingRooms.userRooms(userId),
    ctx.directory.forgottenRooms(userId),
    previous === undefined || accountDataFrom < upTo.accountData
      ? ctx.userData.streams.accountData.changesSince(userId, accountDataFrom, upTo.accountData) : Promise.resolve([]),
  ]) : [[], [], []];
  const marks = applyMarks(previous?.marks ?? NO_MARKS, accountData);
  const preferences = await syncPreferences(ctx, userId, {
    ...(previous === undefined ? {} : { since: accountDataFrom }), upTo: marksAt, entries: Promise.resolve(accountData),
  });
  const forgottenRooms = new Set(forgotten);

  // The server-side list: the user's rooms in recency order, with their memberships as of `upTo`.
  // Every room the user has a membership in (a subscription may name any), and of those the list's.
  const changesOf = byRoom(changes);
  const known = new Map<string, ListedRoom>();
  const listed: ListedRoom[] = [];
  for (const summary of summaries) {
    const roomChanges = changesOf.get(summary.roomId);
    const latest = roomChanges?.at(-1);
    // A membership newer than the positions is for the next answer.
    if (latest === undefined || forgottenRooms.has(summary.roomId)) continue;
    const membership = latest.membership;
    const sender = summary.membershipEventId === latest.eventId ? summary.membershipSender : null;
    if (membership === 'invite' && (preferences.blocksInvites || (sender !== null && inviteHidden(sender, preferences)))) continue;
    const room = { summary, membership };
    known.set(summary.roomId, room);
    // Left since the connection's position (Synapse's `newly_left`).
    const newlyLeft = since !== undefined && latest.offset >= (since.rooms.get(latest.partition) ?? 0);
    if (inServerList({ membership, sender, newlyLeft }, userId, previous?.rooms.get(summary.roomId)?.membership)) listed.push(room);
  }
  const listedById = new Map(listed.map((room) => [room.summary.roomId, room]));

  const spaces = new Set(Object.values(request.lists).flatMap((list) => list.filters.spaces ?? [])
    .filter((space) => listedById.get(space)?.membership === 'join'));
  const spaceChildren = spaces.size === 0 ? new Map<string, Set<string>>() : await ctx.slidingRooms.spaceChildren([...spaces]);
  const inputs = { rooms: listed, marks, spaceChildren };
  const lists: Record<string, ListResult> = Object.fromEntries(Object.entries(request.lists).map(([name, config]) => [name, computeList(config, inputs)]));

  // Each room of a range or a subscription, with the union of the configs that chose it.
  const chosen = new Map<string, { timelineLimit: number; requiredState: RequiredStateConfig[]; lists: string[] }>();
  const choose = (roomId: string, config: { timelineLimit: number; requiredState: RequiredStateConfig }, list?: string): void => {
    let entry = chosen.get(roomId);
    if (entry === undefined) chosen.set(roomId, (entry = { timelineLimit: 0, requiredState: [], lists: [] }));
    entry.timelineLimit = Math.max(entry.timelineLimit, config.timelineLimit);
    entry.requiredState.push(config.requiredState);
    if (list !== undefined) entry.lists.push(list);
  };
  for (const [name, result] of Object.entries(lists)) for (const roomId of result.roomIds) choose(roomId, request.lists[name]!, name);
  // A subscription shows any room the user has a membership in (a left one up to the leave, as
  // Synapse); any other is ignored.
  const subscriptions = Object.keys(request.roomSubscriptions).filter((roomId) => known.has(roomId));
  for (const roomId of subscriptions) choose(roomId, request.roomSubscriptions[roomId]!);

  const roomCtx = ignoringContext(ctx, preferences);
  let rules: ReturnType<typeof userRules> | undefined;
  const requestObject = {};
  const outcomes = await mapConcurrently([...chosen], ROOM_CONCURRENCY, async ([roomId, choice]) => {
    const room = known.get(roomId)!;
    const roomRequest: RoomRequest = {
      summary: room.summary, membership: room.membership, changes: changesOf.get(roomId)!, timelineLimit: choice.timelineLimit,
      requiredState: distinctConfigs(choice.requiredState), lists: choice.lists, isDm: marks.direct.has(roomId),
      sent: previous?.rooms.get(roomId),
    };
    const partitionSince = since?.rooms.get(room.summary.partition);
    return [roomId, await roomAnswer({
      ctx: roomCtx, userId, deviceId: requester.deviceId, now: ctx.clock.now(), to: upTo.rooms.get(room.summary.partition) ?? 0,
      since: since === undefined ? undefined : partitionSince ?? 0, receiptsUpTo: upTo.receipts, unread: service.unread,
      rules: async () => withIgnoredSenders(await (rules ??= userRules(ctx, userId, requestObject)), roomCtx.ignoredSenders),
    }, roomRequest)] as const;
  });

  const rooms: Record<string, SlidingRoomAnswer> = {};
  const sentRooms = new Map<string, SentRoom>(previous?.rooms ?? []);
  for (const [roomId, outcome] of outcomes) {
    // Re-inserted, so the least recently sent rooms are the first a bounded connection forgets.
    sentRooms.delete(roomId);
    sentRooms.set(roomId, outcome.sent);
    if (outcome.answer !== undefined) rooms[roomId] = outcome.answer;
  }

  const extensions = await extensionsAnswer(ctx, {
    requester, extensions: request.extensions, connection: previous?.extensions ?? {},
    roomsInScope: { lists: Object.fromEntries(Object.entries(lists).map(([name, result]) => [name, result.roomIds])), subscriptions },
    rooms, membership: (roomId) => known.get(roomId)?.membership, since, upTo,
  });
  // Woken by news for the user or any room they are in (extensions serve rooms out of the lists too).
  const keys = [userId, ...[...changesOf].flatMap(([roomId, ofRoom]) => (ofRoom.at(-1)?.membership === 'join' ? [roomId] : []))];
  return {
    answer: { lists: Object.fromEntries(Object.entries(lists).map(([name, result]) => [name, { count: result.count, ranges: result.ranges }])), rooms, extensions: extensions.answer },
    state: { positions: upTo, rooms: sentRooms, marks, marksAt, extensions: extensions.positions },
    news: Object.keys(rooms).length > 0 || Object.keys(extensions.answer).length > 0,
    keys,
  };
};

const samePositions = (a: Readonly<Record<string, JsonValue>>, b: Readonly<Record<string, JsonValue>>): boolean =>
  canonicalJson(a as JsonValue, { strict: false }) === canonicalJson(b as JsonValue, { strict: false });

export const slidingSync = async (
  ctx: SlidingSyncContext, service: ServiceState, requester: SyncRequester, request: SlidingSyncRequest, signal?: AbortSignal,
): Promise<SlidingSyncAnswer> => {
  const { userId, deviceId } = requester;
  let previous: ConnectionState | undefined;
  let handle: ConnectionHandle | undefined;
  if (request.pos === undefined) service.connections.reset(userId, deviceId, request.connId);
  else ({ state: previous, handle } = service.connections.resume(userId, deviceId, request.connId, request.pos, ctx.clock.now()));
  // "Ignored when no pos is set": a new connection is answered at once.
  const deadline = ctx.clock.now() + (previous === undefined ? 0 : request.timeoutMs);
  await updatePresence(ctx, requester, request.setPresence ?? 'online', deadline);
  for (;;) {
    const counter = ctx.notifier.current();
    const computed = await compute(ctx, service, requester, request, previous);
    const remaining = deadline - ctx.clock.now();
    if (previous === undefined || computed.news || remaining <= 0 || signal?.aborted === true) {
      // Nothing sent and nothing moved for the extensions: the connection is where it was.
      if (previous !== undefined && !computed.news && samePositions(previous.extensions, computed.state.extensions)) {
        return { pos: request.pos!, ...computed.answer };
      }
      return { pos: service.connections.store(userId, deviceId, request.connId, computed.state, ctx.clock.now(), handle), ...computed.answer };
    }
    await ctx.notifier.waitFor(computed.keys, counter, remaining, signal);
  }
};

export interface SlidingSyncService {
  slidingSync(requester: SyncRequester, request: SlidingSyncRequest, signal?: AbortSignal): Promise<SlidingSyncAnswer>;
  /** Forgets the user's connections and remembered counts (erasure). */
  forgetUser(userId: string): void;
  /** Forgets a deleted device's connections. */
  forgetDevice(userId: string, deviceId: string): void;
}

export const createSlidingSync = (ctx: SlidingSyncContext): SlidingSyncService => {
  const service: ServiceState = {
    // The process's start time tells its positions from an earlier process's.
    connections: createSlidingConnections(ctx.clock.now().toString(36)),
    unread: new BoundedMap(MAX_UNREAD_COUNTS),
  };
  return {
    slidingSync: (requester, request, signal) => slidingSync(ctx, service, requester, request, signal),
    forgetUser: (userId) => {
      service.connections.forgetUser(userId);
      const prefix = `${userId}\u0000`;
      for (const key of [...service.unread.keys()]) if (key.startsWith(prefix)) service.unread.delete(key);
    },
    forgetDevice: (userId, deviceId) => service.connections.forgetDevice(userId, deviceId),
  };
};
