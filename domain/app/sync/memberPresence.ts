/**
 * Presence of users who start sharing a room with the user: when the user joins a room, everyone
 * joined to it; when someone joins a room the user is in, that user. Synapse sends their current
 * presence then (its /sync `newly_joined_*` and the /events stream), since the presence stream
 * only carries later changes; a user with no stored presence is `offline`, Synapse's default state.
 */
import type { JsonObject } from '../../json.ts';
import type { SyncContext } from './context.ts';

/** A join in a room the user is in: the user's own (everyone joined becomes news) or another's. */
export interface NewMember {
  readonly roomId: string;
  readonly userId: string;
}

/** Users joined to the room now. */
export const joinedMembers = async (ctx: Pick<SyncContext, 'rooms'>, roomId: string): Promise<string[]> =>
  (await ctx.rooms.currentState(roomId))
    .filter((event) => event.type === 'm.room.member' && event.stateKey !== null
      && (event.pdu.content as { membership?: unknown } | undefined)?.membership === 'join')
    .map((event) => event.stateKey!);

/**
 * The current `m.presence` events of `users`, who share a room with the user, as of the presence
 * stream's `upTo`: their stored state, or `offline` for a user who has none.
 */
export const presenceOf = async (
  ctx: Pick<SyncContext, 'userData'>, userId: string, users: ReadonlySet<string>, upTo: number,
): Promise<JsonObject[]> => {
  if (users.size === 0) return [];
  // The stream from 0 holds the latest state of everyone sharing a room with the user.
  const known = new Map((await ctx.userData.streams.presence.changesSince(userId, 0, upTo)).map((event) => [String(event.sender), event]));
  return [...users].map((member) => known.get(member) ?? { type: 'm.presence', sender: member, content: { presence: 'offline' } });
};

/**
 * `m.presence` events (`sender` and, as Synapse's /events, `content.user_id`) of the users the
 * joins make the user share a room with, the user excepted, as of the presence stream's `upTo`.
 */
export const newMemberPresence = async (
  ctx: Pick<SyncContext, 'rooms' | 'userData'>, userId: string, joins: readonly NewMember[], upTo: number,
): Promise<JsonObject[]> => {
  const users = new Set<string>();
  for (const members of await Promise.all(joins.map(async (join) => (join.userId === userId ? joinedMembers(ctx, join.roomId) : [join.userId])))) {
    for (const member of members) users.add(member);
  }
  users.delete(userId);
  return presenceOf(ctx, userId, users, upTo);
};
