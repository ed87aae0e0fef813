/**
 * GET /events?room_id= (peeking_events.yaml, § Room previews): a long-poll over one room's new
 * events for a user who may read it without being joined (world_readable history) or who is a
 * member. Tokens are the room tokens of /messages and initialSync (`messages.end` is where a
 * peeker starts). The wait uses the /sync notifier, which wakes on the room id.
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { Notifier } from '../notifier/index.ts';
import { clientEvent } from './clientEvent.ts';
import { notInRoom } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { parseRoomToken, roomToken } from './tokens.ts';
import { windowOf } from './visibility.ts';

/** The endpoint has no `limit`; a page of this many events, the rest at the next call. */
const PAGE = 100;
/** Synapse caps `timeout` too; a long-poll never holds a request longer than this. */
const MAX_TIMEOUT_MS = 60_000;

export interface PeekContext extends Pick<RoomsContext, 'rooms' | 'clock'> {
  readonly notifier: Pick<Notifier, 'current' | 'waitFor'>;
}

export interface PeekRequest {
  readonly roomId?: string;
  readonly from?: string;
  readonly timeout?: string;
}

export interface RoomPeeking {
  peekEvents(requester: RoomRequester, request: PeekRequest, signal?: AbortSignal): Promise<JsonObject>;
}

const timeoutOf = (text: string | undefined): number => {
  if (text === undefined) return 0;
  if (!/^\d{1,15}$/.test(text)) throw new MatrixError('M_INVALID_PARAM', 400, "'timeout' must be a non-negative integer");
  return Math.min(Number(text), MAX_TIMEOUT_MS);
};

const peekEvents = async (ctx: PeekContext, requester: RoomRequester, request: PeekRequest, signal?: AbortSignal): Promise<JsonObject> => {
  const roomId = request.roomId;
  // Without room_id this is the global event stream (sync/eventStream.ts), which the gateway serves when wired.
  if (roomId === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'room_id' (use /sync for the event stream)");
  const timeoutMs = timeoutOf(request.timeout);
  const deadline = ctx.clock.now() + timeoutMs;
  let from: number | undefined = request.from === undefined ? undefined : parseRoomToken(request.from);
  for (;;) {
    const since = ctx.notifier.current();
    const info = await ctx.rooms.roomInfo(roomId);
    // An unknown room answers as one the user may not read (visibility.ts), telling nothing of which rooms exist.
    if (info === undefined) throw notInRoom(requester.userId, roomId);
    // Judged again on each wake-up: leaving the room or a change of history visibility counts at once.
    const window = windowOf(await ctx.rooms.visibilityHistory(roomId, requester.userId), roomId, requester.userId);
    const upTo = info.lastOffset + 1;
    from ??= upTo;
    const events = from >= upTo ? [] : await ctx.rooms.messages(roomId, { dir: 'f', from, to: upTo, limit: PAGE, visible: window.visible });
    const remaining = deadline - ctx.clock.now();
    if (events.length > 0 || remaining <= 0 || signal?.aborted === true) {
      const end = events.length === PAGE ? events[events.length - 1]!.offset + 1 : Math.max(from, upTo);
      const now = ctx.clock.now();
      const viewer = { userId: requester.userId, deviceId: requester.deviceId };
      return { start: roomToken(from), end: roomToken(end), chunk: events.map((event) => clientEvent(event, viewer, now)) };
    }
    // Events hidden from this user were passed over: wait for newer ones only.
    from = Math.max(from, upTo);
    await ctx.notifier.waitFor([roomId], since, remaining, signal);
  }
};

export const createRoomPeeking = (ctx: PeekContext): RoomPeeking => ({
  peekEvents: (requester, request, signal) => peekEvents(ctx, requester, request, signal),
});
