/**
 * `device_lists` of an incremental sync (client-server-api § Tracking the device list for a user):
 * `changed` = users sharing a room whose devices changed, plus users the user newly shares a room
 * with (they joined one of the user's rooms, or the user joined theirs); `left` = users who no
 * longer share any room with the user after a leave in the window. The spec says "encrypted
 * room"; like Synapse (and Dendrite, sytest) any shared room counts, so clients tracking users
 * of a room that turns encrypted later already hold their device lists. /keys/changes
 * (keyChanges.ts) answers the same way.
 */
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import type { SyncContext } from './context.ts';
import type { RoomPlan } from './plan.ts';
import type { RoomTimeline } from './timeline.ts';

interface BuiltEntry {
  readonly plan: RoomPlan;
  readonly room: { readonly timeline: RoomTimeline } | undefined;
}

export const membershipOf = (event: StoredEvent): string => {
  const content = event.pdu.content;
  return isJsonObject(content) && typeof content.membership === 'string' ? content.membership : 'leave';
};

export const deviceListDelta = async (
  ctx: SyncContext, userId: string, streamChanged: readonly string[], built: readonly BuiltEntry[],
): Promise<JsonObject & { changed: string[]; left: string[] }> => {
  const changed = new Set(streamChanged);
  const leftCandidates = new Set<string>();
  for (const { plan, room } of built) {
    if (room === undefined || (plan.section !== 'join' && plan.section !== 'leave')) continue;
    if (plan.newToClient || plan.section === 'leave') {
      const members = (await ctx.rooms.members(plan.roomId)).filter((event) => membershipOf(event) === 'join');
      const target = plan.section === 'join' ? changed : leftCandidates;
      for (const member of members) if (member.stateKey !== null) target.add(member.stateKey);
      continue;
    }
    for (const event of [...room.timeline.state, ...room.timeline.events]) {
      if (event.type !== 'm.room.member' || event.stateKey === null) continue;
      const membership = membershipOf(event);
      if (membership === 'join') changed.add(event.stateKey);
      else if (membership === 'leave' || membership === 'ban') leftCandidates.add(event.stateKey);
    }
  }
  return settleDeviceLists(ctx, userId, streamChanged, changed, leftCandidates);
};

/**
 * The answer from the device-list stream's changes and the users who joined / left a room shared
 * with the user: `left` = those no longer sharing any room (they leave `changed`); the user is
 * listed only for their own device changes (their other devices track them).
 */
export const settleDeviceLists = async (
  ctx: Pick<SyncContext, 'membership'>, userId: string, streamChanged: readonly string[],
  joined: ReadonlySet<string>, leftCandidates: ReadonlySet<string>,
): Promise<JsonObject & { changed: string[]; left: string[] }> => {
  const changed = new Set([...streamChanged, ...joined]);
  const candidates = [...leftCandidates].filter((user) => user !== userId);
  changed.delete(userId);
  let left: string[] = [];
  if (candidates.length > 0) {
    const sharing = await ctx.membership.usersSharingRoomsWith(userId);
    left = candidates.filter((user) => !sharing.has(user));
  }
  for (const user of left) changed.delete(user);
  if (streamChanged.includes(userId)) changed.add(userId);
  return { changed: [...changed], left };
};
