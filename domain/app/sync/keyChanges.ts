/**
 * `GET /keys/changes` (keys.yaml; client-server-api § Tracking the device list for a user) between
 * two /sync tokens: `changed` = users whose device keys changed (device-list stream), plus users
 * who now share a room with the user and did not at `from` (they joined one of the user's rooms,
 * or the user joined theirs); `left` = users who shared a room at `from` and share none now. As
 * /sync's `device_lists` (deviceLists.ts), any shared room counts, as in Synapse. Membership is
 * compared at the tokens' rooms-projection positions: a room's window is [from, to) of its partition.
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { StoredEvent, UserMembershipChange } from '../../ports/rooms.ts';
import type { SyncContext, SyncRequester } from './context.ts';
import { membershipOf, settleDeviceLists } from './deviceLists.ts';
import { parseSyncToken, type SyncPositions } from './token.ts';

/** Member events are read in pages of this size (a busy room may have many in a window). */
export const MEMBER_EVENTS_PAGE = 500;

export type KeyChangesContext = Pick<SyncContext, 'rooms' | 'sync' | 'membership' | 'userData'>;

/** The membership an m.room.member event replaced: none (`leave`) when it is the first one. */
const previousMembershipOf = (event: StoredEvent): string => {
  const previous = event.prevContent;
  return isJsonObject(previous) && typeof previous.membership === 'string' ? previous.membership : 'leave';
};

const joinedMembersAt = async (ctx: KeyChangesContext, roomId: string, offset: number): Promise<string[]> =>
  (await ctx.rooms.members(roomId, offset))
    .filter((event) => event.stateKey !== null && membershipOf(event) === 'join')
    .map((event) => event.stateKey!);

/** The room's member events at offsets in [from, to), oldest first. */
const memberEventsBetween = async (ctx: KeyChangesContext, roomId: string, from: number, to: number): Promise<StoredEvent[]> => {
  const events: StoredEvent[] = [];
  for (let next = from; next < to;) {
    const page = await ctx.rooms.messages(roomId, { dir: 'f', from: next, to, limit: MEMBER_EVENTS_PAGE, filter: { types: ['m.room.member'] } });
    events.push(...page);
    if (page.length < MEMBER_EVENTS_PAGE) break;
    next = page[page.length - 1]!.offset + 1;
  }
  return events;
};

/**
 * Who joined or left over a window, from each member's first event in it (what it replaced is the
 * membership at `from`) and last one (the membership at `to`): a profile change of a joined member
 * is no join.
 */
export const membersMoved = (events: readonly StoredEvent[]): { joined: string[]; left: string[] } => {
  const before = new Map<string, string>();
  const after = new Map<string, string>();
  for (const event of events) {
    if (event.stateKey === null) continue;
    if (!before.has(event.stateKey)) before.set(event.stateKey, previousMembershipOf(event));
    after.set(event.stateKey, membershipOf(event));
  }
  const joined: string[] = [];
  const left: string[] = [];
  for (const [user, now] of after) {
    const was = before.get(user);
    if (now === 'join' && was !== 'join') joined.push(user);
    else if (now !== 'join' && was === 'join') left.push(user);
  }
  return { joined, left };
};

interface Window {
  readonly from: ReadonlyMap<number, number>;
  readonly to: ReadonlyMap<number, number>;
}

/** One of the user's rooms: who the user newly shares it with, and who may no longer share a room. */
const roomMoves = async (
  ctx: KeyChangesContext, roomId: string, changes: readonly UserMembershipChange[], window: Window,
): Promise<{ joined: readonly string[]; left: readonly string[] }> => {
  const none = { joined: [], left: [] };
  const latest = changes[changes.length - 1]!;
  const to = window.to.get(latest.partition) ?? 0;
  const from = Math.min(window.from.get(latest.partition) ?? 0, to);
  const wasJoined = changes.findLast((change) => change.offset < from)?.membership === 'join';
  const isJoined = latest.membership === 'join';
  // The user joined: everyone in the room as of `to` is new to them.
  if (isJoined && !wasJoined) return { joined: await joinedMembersAt(ctx, roomId, to - 1), left: [] };
  // The user left: everyone still there right after the leave may no longer share a room.
  if (!isJoined && wasJoined) return { joined: [], left: await joinedMembersAt(ctx, roomId, latest.offset) };
  if (!isJoined || from >= to || (latest.roomLastOffset !== undefined && latest.roomLastOffset < from)) return none;
  return membersMoved(await memberEventsBetween(ctx, roomId, from, to));
};

/** keys.yaml: `from` and `to` are required, and are tokens /sync returned. */
const tokenParam = (value: string | undefined, name: string): SyncPositions => {
  if (value === undefined) throw new MatrixError('M_MISSING_PARAM', 400, `Missing '${name}'`);
  return parseSyncToken(value, name);
};

export const keyChanges = async (
  ctx: KeyChangesContext, requester: SyncRequester, fromToken: string | undefined, toToken: string | undefined,
): Promise<JsonObject & { changed: string[]; left: string[] }> =>
  deviceListChanges(ctx, requester.userId, tokenParam(fromToken, 'from'), tokenParam(toToken, 'to'));

/** The device-list changes between two positions (`/keys/changes`, sliding sync's e2ee extension). */
export const deviceListChanges = async (
  ctx: KeyChangesContext, userId: string, from: Pick<SyncPositions, 'rooms' | 'deviceLists'>, to: Pick<SyncPositions, 'rooms' | 'deviceLists'>,
): Promise<JsonObject & { changed: string[]; left: string[] }> => {
  const window: Window = { from: from.rooms, to: to.rooms };
  const [streamChanged, changes] = await Promise.all([
    from.deviceLists < to.deviceLists
      ? ctx.userData.streams.deviceLists.changesSince(userId, from.deviceLists, to.deviceLists) : Promise.resolve([]),
    ctx.sync.membershipChanges(userId, to.rooms),
  ]);
  const byRoom = new Map<string, UserMembershipChange[]>();
  for (const change of changes) {
    const list = byRoom.get(change.roomId);
    if (list === undefined) byRoom.set(change.roomId, [change]);
    else list.push(change);
  }
  const moves = await Promise.all([...byRoom].map(([roomId, ofRoom]) => roomMoves(ctx, roomId, ofRoom, window)));
  const joined = new Set(moves.flatMap((move) => move.joined));
  const left = new Set(moves.flatMap((move) => move.left));
  return settleDeviceLists(ctx, userId, streamChanged, joined, left);
};
