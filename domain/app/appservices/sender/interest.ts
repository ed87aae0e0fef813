/**
 * Which bridges an event goes to (application-service-api.md § Pushing events; Synapse's
 * `ApplicationServicesHandler.notify_interested_services`): a bridge with a url whose namespaces
 * claim the sender, the user a membership event is about, the room id, one of the room's local
 * aliases or one of this server's users joined to the room (isInterestedInEvent). What a bridge
 * decided about the room (the costly part: aliases and members) is kept on the KnownRoom until its
 * facts change.
 */
import {
  isInterestedInRoom, isInterestedInUser, type AppserviceRegistration, type EventFacts,
} from '../../../appservices/index.ts';
import type { Pdu } from '../../../events/index.ts';
import type { KnownRoom } from './roomFacts.ts';

/** The fields of an event interest is decided on. */
export const eventFactsOf = (pdu: Pdu): EventFacts => ({
  type: typeof pdu.type === 'string' ? pdu.type : '',
  sender: typeof pdu.sender === 'string' ? pdu.sender : '',
  stateKey: typeof pdu.state_key === 'string' ? pdu.state_key : null,
});

/** The registrations that take transactions (a url; null means the bridge receives nothing). */
export const receivingBridges = (registrations: readonly AppserviceRegistration[]): AppserviceRegistration[] =>
  registrations.filter((registration) => registration.url !== null);

const interestedInUsersOf = (registration: AppserviceRegistration, event: EventFacts): boolean =>
  isInterestedInUser(registration, event.sender)
  || (event.type === 'm.room.member' && event.stateKey !== null && isInterestedInUser(registration, event.stateKey));

/** The bridges interested in an event of a room the sender follows (isInterestedInEvent, the room's part cached). */
export const bridgesInterestedIn = (
  registrations: readonly AppserviceRegistration[], event: EventFacts, room: KnownRoom,
): AppserviceRegistration[] => registrations.filter((registration) => {
  if (interestedInUsersOf(registration, event)) return true;
  let interested = room.interest.get(registration.id);
  if (interested === undefined) {
    interested = isInterestedInRoom(registration, room);
    room.interest.set(registration.id, interested);
  }
  return interested;
});

/**
 * The bridges interested in an invite to a room this server is not in (`membership.outOfBand`):
 * its sender, its invitee or the room id (no alias or member of ours is known there). A bridge's
 * puppet invited from another server's room must see the invite to accept it.
 */
export const bridgesInterestedInOutOfBand = (
  registrations: readonly AppserviceRegistration[], event: EventFacts, roomId: string,
): AppserviceRegistration[] => registrations.filter((registration) =>
  interestedInUsersOf(registration, event) || isInterestedInRoom(registration, { roomId, aliases: [], localMembers: [] }));
