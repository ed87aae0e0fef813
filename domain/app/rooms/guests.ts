/**
 * Guests leave a room whose guest access ends (guest_access.md § Server behaviour: "If the
 * m.room.guest_access event is changed to stop this from being the case, the server MUST set
 * those users' m.room.member state to leave").
 */
import { stateKeyOf, type Pdu } from '../../events/index.ts';
import type { RoomWriter } from './roomWriter.ts';

const isGuestAccess = (type: unknown, stateKey: unknown): boolean => type === 'm.room.guest_access' && stateKey === '';

/**
 * The room writer, with this server's guests made to leave once an accepted m.room.guest_access —
 * sent here or taken in from another server — no longer says `can_join`. As Synapse's
 * kick_guest_users: the members whose membership says `kind: guest` (the decider marks every
 * guest's join so) and who are guests still (unlike Synapse, an upgraded guest stays) each leave by
 * their own event, which needs no power level. A leave that fails (the guest left meanwhile) does
 * not undo the change: the decider refuses guests' joins from now on.
 */
export const withGuestRemoval = <W extends Pick<RoomWriter, 'send' | 'ingest' | 'state'>>(
  writer: W, serverName: string, isGuest: (userId: string) => Promise<boolean>,
): W => {
  const removeGuests = async (roomId: string): Promise<void> => {
    const state = await writer.state(roomId);
    if (state === undefined || state.stateEvents.get(stateKeyOf('m.room.guest_access', ''))?.content.guest_access === 'can_join') return;
    const marked: string[] = [];
    for (const event of state.stateEvents.values()) {
      const { membership, kind } = event.content;
      if (event.type !== 'm.room.member' || event.stateKey === undefined || !event.stateKey.endsWith(`:${serverName}`)) continue;
      if ((membership === 'join' || membership === 'invite') && kind === 'guest') marked.push(event.stateKey);
    }
    const guests = (await Promise.all(marked.map(async (userId) => ((await isGuest(userId)) ? [userId] : [])))).flat();
    await Promise.allSettled(guests.map((guest) => writer.send(roomId, {
      type: 'm.room.member', stateKey: guest, sender: guest, content: { membership: 'leave' }, ifMembershipIn: ['join', 'invite'],
    }, { userId: guest, deviceId: null, txnId: null })));
  };
  const send: RoomWriter['send'] = async (roomId, event, local) => {
    const sent = await writer.send(roomId, event, local);
    if (!sent.deduplicated && isGuestAccess(event.type, event.stateKey)) await removeGuests(roomId);
    return sent;
  };
  const ingest: RoomWriter['ingest'] = async (roomId, pdu: Pdu, origin, stateBefore) => {
    const result = await writer.ingest(roomId, pdu, origin, stateBefore);
    if (result.outcome === 'accepted' && isGuestAccess(pdu.type, pdu.state_key)) await removeGuests(roomId);
    return result;
  };
  return { ...writer, send, ingest };
};
