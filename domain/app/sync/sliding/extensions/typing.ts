/**
 * The `typing` extension (MSC3961): per room in scope whose typing set changed since the last answer
 * (every room with someone typing on the first), its `m.typing` event. Nothing is remembered per room:
 * a room coming back into scope gets only changes, as Synapse — typing notices time out within
 * seconds anyway.
 */
import type { JsonObject } from '../../../../json.ts';
import type { SyncContext } from '../../context.ts';

export const typingAnswer = (ctx: SyncContext, roomIds: readonly string[], since: number | undefined, upTo: number): JsonObject | undefined => {
  // The typing stream lives in memory: after a restart it may be behind the connection's position.
  const from = since === undefined || since > upTo ? 0 : since;
  const rooms: Record<string, JsonObject> = {};
  for (const { roomId, userIds } of ctx.userData.streams.typing.changesSince(roomIds, from, upTo)) {
    rooms[roomId] = { type: 'm.typing', content: { user_ids: userIds } };
  }
  if (since !== undefined && Object.keys(rooms).length === 0) return undefined;
  return { rooms };
};
