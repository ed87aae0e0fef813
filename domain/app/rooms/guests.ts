/**
 * Guests leave a room whose guest access ends (guest_access.md § Server behaviour: "If the
 * m.room.guest_access event is changed to stop this from being the case, the server MUST set
 * those users' m.room.member state to leave").
 */
import { stateKeyOf } from '../../events/index.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { leave } from './membership.ts';

/**
 * As Synapse's kick_guest_users: this server's members whose membership says `kind: guest` (the
 * decider marks every guest's join so) each leave by their own event, which needs no power level.
 * A leave that fails (the guest left meanwhile) does not undo the change: the decider refuses
 * guests' joins from now on anyway.
 */
export const removeGuestsUnlessWelcome = async (ctx: RoomsContext, roomId: string): Promise<void> => {
  const state = await ctx.writer.state(roomId);
  if (state === undefined || state.stateEvents.get(stateKeyOf('m.room.guest_access', ''))?.content.guest_access === 'can_join') return;
  const guests: RoomRequester[] = [];
  for (const event of state.stateEvents.values()) {
    const { membership, kind } = event.content;
    if (event.type !== 'm.room.member' || event.stateKey === undefined || !event.stateKey.endsWith(`:${ctx.serverName}`)) continue;
    if ((membership === 'join' || membership === 'invite') && kind === 'guest') guests.push({ userId: event.stateKey, deviceId: '' });
  }
  await Promise.allSettled(guests.map((guest) => leave(ctx, guest, roomId)));
};
