/**
 * GET /rooms/{roomId}/initialSync (room_initial_sync.yaml; used for peeking, § Room previews, and
 * not deprecated again since v1.14): the state and the latest messages of a room as the user may
 * see them. A joined user gets the current state; one who left or was banned the state and
 * messages up to that change; anyone else only a world_readable room, with its current state
 * (visibility.ts decides, 403 otherwise) and no `membership`, as Synapse answers a peeker. Presence,
 * receipts and account data are the per-user streams', added by sync/initialSync.ts.
 */
import { isJsonObject, type JsonObject } from '../../json.ts';
import { clientEvent, type Viewer } from './clientEvent.ts';
import { notInRoom } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { roomToken } from './tokens.ts';
import { visibilityWindow } from './visibility.ts';

/** How many of the latest messages; the endpoint has no `limit` parameter (Synapse uses 10). */
const MESSAGES_LIMIT = 10;

export const roomInitialSync = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, limit = MESSAGES_LIMIT,
): Promise<JsonObject> => {
  const info = await ctx.rooms.roomInfo(roomId);
  // An unknown room answers as one the user may not read (visibility.ts), telling nothing of which rooms exist.
  if (info === undefined) throw notInRoom(requester.userId, roomId);
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  const until = window.joined || window.maxOffset === undefined ? info.lastOffset : window.maxOffset;
  const [state, events, visibility] = await Promise.all([
    until === info.lastOffset ? ctx.rooms.currentState(roomId) : ctx.rooms.stateAt(roomId, until),
    limit === 0 ? [] : ctx.rooms.messages(roomId, { dir: 'b', from: until + 1, limit, visible: window.visible }),
    ctx.directory.visibility(roomId),
  ]);
  const viewer: Viewer = { userId: requester.userId, deviceId: requester.deviceId };
  const now = ctx.clock.now();
  const chronological = events.toReversed();
  const own = state.find((event) => event.type === 'm.room.member' && event.stateKey === requester.userId)?.pdu.content;
  // Who was never joined reads the room as a peeker (world_readable), whatever invite they may hold.
  const member = window.joined || window.maxOffset !== undefined;
  const membership = member && isJsonObject(own) && typeof own.membership === 'string' ? own.membership : undefined;
  const messages: JsonObject = {
    chunk: chronological.map((event) => clientEvent(event, viewer, now)),
    end: roomToken(until + 1),
  };
  // "If no earlier events are available, this property may be omitted": /messages from `start`
  // backwards continues before the first event shown.
  const first = chronological[0];
  if (first !== undefined) messages.start = roomToken(first.offset);
  return {
    room_id: roomId,
    ...(membership === undefined ? {} : { membership }),
    messages,
    state: state.map((event) => clientEvent(event, viewer, now)),
    visibility,
  };
};
