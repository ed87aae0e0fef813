/**
 * Which application service a user, alias, room or event belongs to (application-service-api.md
 * § Registration: namespaces; Synapse's `ApplicationService.is_interested_in_*`).
 */
import type { AppserviceRegistration, Namespace } from './registration.ts';

const matchesAny = (namespaces: readonly Namespace[], id: string): boolean => namespaces.some((namespace) => namespace.regex.test(id));

/** The user is the bridge's sender or in its user namespace. */
export const isInterestedInUser = (registration: AppserviceRegistration, userId: string): boolean =>
  userId === registration.sender || matchesAny(registration.namespaces.users, userId);

export const isInterestedInAlias = (registration: AppserviceRegistration, alias: string): boolean =>
  matchesAny(registration.namespaces.aliases, alias);

export const isInterestedInRoomId = (registration: AppserviceRegistration, roomId: string): boolean =>
  matchesAny(registration.namespaces.rooms, roomId);

/** What a room is, for deciding interest: its local aliases and this server's joined members. */
export interface RoomFacts {
  readonly roomId: string;
  /** The room's aliases in this server's directory. */
  readonly aliases: readonly string[];
  /** This server's users joined to the room. */
  readonly localMembers: Iterable<string>;
}

/**
 * The bridge is interested in everything in a room it names, a room with an alias it names, or a
 * room one of its users is joined to (Synapse: room namespace, aliases, local member list).
 */
export const isInterestedInRoom = (registration: AppserviceRegistration, room: RoomFacts): boolean => {
  if (isInterestedInRoomId(registration, room.roomId)) return true;
  if (room.aliases.some((alias) => isInterestedInAlias(registration, alias))) return true;
  for (const member of room.localMembers) if (isInterestedInUser(registration, member)) return true;
  return false;
};

/** An event, as far as interest goes. */
export interface EventFacts {
  readonly type: string;
  readonly sender: string;
  readonly stateKey: string | null;
}

/**
 * Whether the event goes to the bridge: its sender, or the user a membership event is about, is
 * the bridge's; or the bridge is interested in its room (isInterestedInRoom).
 */
export const isInterestedInEvent = (registration: AppserviceRegistration, event: EventFacts, room: RoomFacts): boolean => {
  if (isInterestedInUser(registration, event.sender)) return true;
  if (event.type === 'm.room.member' && event.stateKey !== null && isInterestedInUser(registration, event.stateKey)) return true;
  return isInterestedInRoom(registration, room);
};

/** The registration whose exclusive namespace claims the id, if any. */
const exclusiveOwner = (
  registrations: readonly AppserviceRegistration[], kind: 'users' | 'aliases' | 'rooms', id: string,
): AppserviceRegistration | undefined =>
  registrations.find((registration) => registration.namespaces[kind].some((namespace) => namespace.exclusive && namespace.regex.test(id)));

/** The bridge that owns the user id exclusively (its sender, or an exclusive user namespace). */
export const exclusiveUserOwner = (registrations: readonly AppserviceRegistration[], userId: string): AppserviceRegistration | undefined =>
  registrations.find((registration) => registration.sender === userId) ?? exclusiveOwner(registrations, 'users', userId);

export const exclusiveAliasOwner = (registrations: readonly AppserviceRegistration[], alias: string): AppserviceRegistration | undefined =>
  exclusiveOwner(registrations, 'aliases', alias);

export const exclusiveRoomOwner = (registrations: readonly AppserviceRegistration[], roomId: string): AppserviceRegistration | undefined =>
  exclusiveOwner(registrations, 'rooms', roomId);

/** The bridges that declare the third-party protocol. */
export const bridgesOfProtocol = (registrations: readonly AppserviceRegistration[], protocol: string): AppserviceRegistration[] =>
  registrations.filter((registration) => registration.protocols.includes(protocol));

/** The bridge whose as_token this is. */
export const registrationByToken = (registrations: readonly AppserviceRegistration[], asToken: string): AppserviceRegistration | undefined =>
  registrations.find((registration) => registration.asToken === asToken);
