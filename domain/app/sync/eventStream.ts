/**
 * The global event stream, `GET /events` without `room_id` (old_sync.yaml, deprecated since r0 for
 * /sync; Synapse's EventStreamRestServlet). Its tokens are /sync tokens, so `/initialSync`'s `end`
 * starts it and a client may move on to /sync with its `end`. A response holds, as Synapse's
 * event sources: the events of the rooms the user is joined to and the user's own membership
 * changes elsewhere (invites, leaves), in client format; `m.presence` of users sharing a room
 * (and of those who start sharing one, memberPresence.ts); `m.typing` and `m.receipt` with their
 * `room_id`; account data, room entries with their `room_id`. To-device messages and device
 * lists are not part of it: their positions stay at `from`, for a /sync from `end` to deliver them.
 * The user's preferences hold as in /sync: no messages of ignored users, no invites from them or
 * while the user blocks invites.
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { StoredEvent, UserMembershipChange } from '../../ports/rooms.ts';
import { clientEvent, hiddenByIgnoring, inviteHidden, visibleRangesBelow } from '../rooms/index.ts';
import type { SyncContext, SyncRequester } from './context.ts';
import { newMemberPresence, type NewMember } from './memberPresence.ts';
import { MAX_SYNC_TIMEOUT_MS } from './sync.ts';
import { encodeSyncToken, parseSyncToken, type SyncPositions } from './token.ts';

export interface EventStreamRequest {
  readonly from?: string;
  readonly timeout?: string;
}

export interface EventStream {
  events(requester: SyncRequester, request: EventStreamRequest, signal?: AbortSignal): Promise<JsonObject>;
}

/** Room events per response (the endpoint has no `limit`); `end` then points at the rest. */
export const EVENT_STREAM_PAGE = 100;
/**
 * Without `timeout` the stream answers at once, as this route does with `room_id` and as /sync
 * does (sync.yaml: "By default, this is 0"); Synapse's servlet would wait 30 s for both.
 */
const timeoutOf = (text: string | undefined): number => {
  if (text === undefined) return 0;
  if (!/^\d{1,15}$/.test(text)) throw new MatrixError('M_INVALID_PARAM', 400, "'timeout' must be a non-negative integer");
  return Math.min(Number(text), MAX_SYNC_TIMEOUT_MS);
};

const readPositions = async (ctx: SyncContext, userId: string): Promise<{ upTo: SyncPositions; changes: UserMembershipChange[] }> => {
  const { rooms, streams, changes } = await ctx.sync.positionsWithMembershipChanges(userId);
  return { upTo: { rooms, ...streams, typing: ctx.userData.streams.typing.currentPosition() }, changes };
};

const latestPerRoom = (changes: readonly UserMembershipChange[]): Map<string, UserMembershipChange> =>
  new Map(changes.map((change) => [change.roomId, change]));

export interface RoomEvents {
  /** In (partition, offset) order; only offsets below `ends` of their partition. */
  readonly events: StoredEvent[];
  /** Partition → where the next response starts (the positions of `upTo` where nothing was cut). */
  readonly ends: Map<number, number>;
}

/** One room's read: its events in the window, oldest first, and whether the read stopped at its limit. */
export interface RoomRead {
  readonly partition: number;
  readonly events: readonly StoredEvent[];
  readonly full: boolean;
}

/**
 * At most `limit` of the rooms' events, and where each partition continues: a partition's events
 * are one order (its offsets), so nothing after the first event left out of a partition is served
 * (a room's read that stopped at its limit leaves out what follows it). Partitions are served in
 * turn; one left out entirely continues from `since`.
 */
export const pageOfRoomEvents = (
  reads: readonly RoomRead[], since: ReadonlyMap<number, number>, upTo: ReadonlyMap<number, number>, limit: number,
): RoomEvents => {
  const sinceOf = (partition: number): number => Math.min(since.get(partition) ?? 0, upTo.get(partition) ?? 0);
  const ends = new Map(upTo);
  const cut = (partition: number, offset: number): void => {
    if (offset < (ends.get(partition) ?? 0)) ends.set(partition, offset);
  };
  for (const read of reads) if (read.full && read.events.length > 0) cut(read.partition, read.events[read.events.length - 1]!.offset + 1);
  const all = reads.flatMap((read) => read.events)
    .filter((event) => event.offset < (ends.get(event.partition) ?? 0))
    .sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  const page = all.slice(0, limit);
  if (all.length > page.length) {
    const last = page[page.length - 1];
    const lastPartition = last?.partition ?? -1;
    if (last !== undefined) cut(last.partition, last.offset + 1);
    for (const partition of ends.keys()) if (partition > lastPartition) ends.set(partition, sinceOf(partition));
  }
  return { events: page, ends };
};

/**
 * The room events between the two positions: those of joined rooms the user may see, and the
 * user's own membership events in other rooms, a page at most (pageOfRoomEvents).
 */
const roomEvents = async (
  ctx: SyncContext, userId: string, since: SyncPositions, upTo: SyncPositions, changes: readonly UserMembershipChange[],
): Promise<RoomEvents> => {
  const reads = [...latestPerRoom(changes).values()].map(async (latest): Promise<RoomRead> => {
    const partition = latest.partition;
    const from = Math.min(since.rooms.get(partition) ?? 0, upTo.rooms.get(partition) ?? 0);
    const to = upTo.rooms.get(partition) ?? 0;
    if (latest.membership !== 'join') {
      // Another room: only the user's own membership changes in the window (an invite, a leave).
      const own = changes.filter((change) => change.roomId === latest.roomId && change.offset >= from && change.offset < to && change.eventId !== null);
      const events = await Promise.all(own.map((change) => ctx.rooms.event(change.eventId!)));
      return { partition, events: events.filter((event): event is StoredEvent => event !== undefined), full: false };
    }
    if (from >= to || (latest.roomLastOffset !== undefined && latest.roomLastOffset < from)) return { partition, events: [], full: false };
    const visible = await visibleRangesBelow(ctx.rooms, latest.roomId, userId, to);
    const events = await ctx.rooms.messages(latest.roomId, { dir: 'f', from, to, limit: EVENT_STREAM_PAGE, visible });
    return { partition, events, full: events.length === EVENT_STREAM_PAGE };
  });
  return pageOfRoomEvents(await Promise.all(reads), since.rooms, upTo.rooms, EVENT_STREAM_PAGE);
};

/** Joins in the chunk that make the user share a room with someone (memberPresence.ts). */
const joinsIn = (events: readonly StoredEvent[]): NewMember[] =>
  events.filter((event) => event.type === 'm.room.member' && event.stateKey !== null
    && (event.pdu.content as { membership?: unknown } | undefined)?.membership === 'join')
    .map((event) => ({ roomId: event.roomId, userId: event.stateKey! }));

/** One computation from `since` up to the positions read now. */
const compute = async (
  ctx: SyncContext, requester: SyncRequester, since: SyncPositions, upTo: SyncPositions, changes: readonly UserMembershipChange[],
): Promise<{ chunk: JsonObject[]; end: SyncPositions; joinedRoomIds: string[] }> => {
  const { userId } = requester;
  const streams = ctx.userData.streams;
  const joinedRoomIds = [...latestPerRoom(changes).values()].filter((change) => change.membership === 'join').map((change) => change.roomId);
  // A typing stream restarted with the process may be behind the token: start it over.
  const typingSince = since.typing > upTo.typing ? 0 : since.typing;
  const [rooms, presence, receipts, accountData] = await Promise.all([
    roomEvents(ctx, userId, since, upTo, changes),
    since.presence < upTo.presence ? streams.presence.changesSince(userId, since.presence, upTo.presence) : [],
    since.receipts < upTo.receipts ? streams.receipts.changesSince(userId, joinedRoomIds, since.receipts, upTo.receipts) : new Map<string, JsonObject>(),
    since.accountData < upTo.accountData ? streams.accountData.changesSince(userId, since.accountData, upTo.accountData) : [],
  ]);
  const [ignored, blocksInvites] = ctx.preferences === undefined ? [new Set<string>(), false]
    : await Promise.all([ctx.preferences.ignoredUsers(userId), ctx.preferences.blocksInvites(userId)]);
  const served = rooms.events.filter((event) => !hiddenByIgnoring(event, ignored)
    && !(event.stateKey === userId && event.type === 'm.room.member' && (event.pdu.content as { membership?: unknown } | undefined)?.membership === 'invite'
      && inviteHidden(event.sender, { ignored, blocksInvites })));
  const now = ctx.clock.now();
  const viewer = { userId, deviceId: requester.deviceId };
  const changed = new Set(presence.map((event) => String(event.sender)));
  const joined = (await newMemberPresence(ctx, userId, joinsIn(served), upTo.presence)).filter((event) => !changed.has(String(event.sender)));
  const chunk: JsonObject[] = [
    ...served.map((event) => clientEvent(event, viewer, now)),
    // Synapse's /events presence carries the user in its content too.
    ...[...presence, ...joined].map((event) => ({ ...event, content: { ...(event.content as JsonObject), user_id: String(event.sender) } })),
    ...streams.typing.changesSince(joinedRoomIds, typingSince, upTo.typing)
      .map((typing) => ({ type: 'm.typing', room_id: typing.roomId, content: { user_ids: typing.userIds } })),
    ...[...receipts].map(([roomId, content]) => ({ type: 'm.receipt', room_id: roomId, content })),
    // From position 0 the stream adds the default push rules (at position 0): not news here.
    ...accountData.filter((entry) => entry.position > since.accountData)
      .map((entry) => ({ type: entry.type, content: entry.content, ...(entry.roomId === null ? {} : { room_id: entry.roomId }) })),
  ];
  const end: SyncPositions = { ...upTo, rooms: rooms.ends, toDevice: since.toDevice, deviceLists: since.deviceLists };
  return { chunk, end, joinedRoomIds };
};

const events = async (ctx: SyncContext, requester: SyncRequester, request: EventStreamRequest, signal?: AbortSignal): Promise<JsonObject> => {
  const given = request.from === undefined ? undefined : parseSyncToken(request.from, 'from');
  const deadline = ctx.clock.now() + timeoutOf(request.timeout);
  // The stream counts as syncing: the user is online while it long-polls (Synapse's affect_presence).
  await ctx.userData.presence.synced(requester.userId, 'online', deadline);
  let since = given;
  let start = given;
  for (;;) {
    const counter = ctx.notifier.current();
    const { upTo, changes } = await readPositions(ctx, requester.userId);
    // Without `from` the stream starts now.
    since ??= upTo;
    start ??= since;
    const result = await compute(ctx, requester, since, upTo, changes);
    const remaining = deadline - ctx.clock.now();
    if (result.chunk.length > 0 || remaining <= 0 || signal?.aborted === true) {
      // `start` is the token the client gave, as it gave it ("usually the same token supplied to from=").
      return { chunk: result.chunk, start: request.from ?? encodeSyncToken(start), end: encodeSyncToken(result.end) };
    }
    // Nothing the user may see up to these positions: wait for what comes after them.
    since = result.end;
    await ctx.notifier.waitFor([requester.userId, ...result.joinedRoomIds], counter, remaining, signal);
  }
};

export const createEventStream = (ctx: SyncContext): EventStream => ({
  events: (requester, request, signal) => events(ctx, requester, request, signal),
});
