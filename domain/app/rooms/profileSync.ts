/**
 * client-server-api § Events on Change of Profile Information: after a local user changes their
 * displayname or avatar_url, the server sends an updated m.room.member event to every room they
 * are joined to. Wired as the accounts' `onProfileChanged` hook.
 */
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { ProfileFields } from '../../ports/accounts.ts';
import type { RoomsContext } from './context.ts';

export const syncProfileToRooms = async (ctx: RoomsContext, userId: string, profile: ProfileFields): Promise<void> => {
  for (const roomId of await ctx.rooms.roomsWithMembership(userId, ['join'])) {
    const current = await ctx.rooms.stateEvent(roomId, 'm.room.member', userId);
    const previous = isJsonObject(current?.pdu.content) ? current.pdu.content : {};
    const content: JsonObject = { ...previous, membership: 'join' };
    delete content.displayname;
    delete content.avatar_url;
    delete content.reason;
    if (typeof profile.displayname === 'string') content.displayname = profile.displayname;
    if (typeof profile.avatar_url === 'string') content.avatar_url = profile.avatar_url;
    if (previous.displayname === content.displayname && previous.avatar_url === content.avatar_url) continue;
    try {
      // Only while still joined when the writer decides: a profile update must not rejoin a user
      // who left (or was kicked) since the rooms were listed.
      await ctx.writer.send(roomId, { type: 'm.room.member', stateKey: userId, sender: userId, content, ifMembershipIn: ['join'] },
        { userId, deviceId: null, txnId: null });
    } catch {
      // A room whose rules refuse the change (e.g. the user was just kicked) must not stop the rest.
    }
  }
};
