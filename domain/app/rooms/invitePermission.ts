/**
 * Invite permission (client-server-api/modules/invite_permission.md, since v1.18): invites to a user
 * whose `m.invite_permission_config` blocks them are refused with 403 M_INVITE_BLOCKED by the
 * decider (domain/room/localPolicy.ts) on every path that writes an invite — the room writer
 * preloads the invitee's setting — and on createRoom for a user in its `invite` list (createRoom.ts,
 * which still creates the room for the others).
 */
import { MatrixError } from '../../errors.ts';
import type { LocalEventRequest } from '../../room/index.ts';
import type { UserPreferences } from './preferences.ts';

export const inviteBlocked = (userId: string): MatrixError =>
  new MatrixError('M_INVITE_BLOCKED', 403, `${userId} does not accept invites`);

/** The user an event invites (someone else), if it is an invite. */
export const inviteeOf = (event: LocalEventRequest): string | undefined =>
  event.type === 'm.room.member' && event.content.membership === 'invite'
    && typeof event.stateKey === 'string' && event.stateKey !== event.sender ? event.stateKey : undefined;

/** `invite` split into those who accept invites and those who block them (in order). */
export const screenInvitees = async (
  preferences: Pick<UserPreferences, 'blocksInvites'> | undefined, invite: readonly string[],
): Promise<{ invitees: string[]; blocked: string[] }> => {
  if (preferences === undefined || invite.length === 0) return { invitees: [...invite], blocked: [] };
  const blocks = await Promise.all(invite.map((userId) => preferences.blocksInvites(userId)));
  return { invitees: invite.filter((_, i) => !blocks[i]), blocked: invite.filter((_, i) => blocks[i]) };
};
