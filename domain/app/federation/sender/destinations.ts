/**
 * Which servers an event of ours goes to (server-server-api.md § Transactions; Synapse's federation
 * sender): every other server with a joined member in the room after the event, plus, for a
 * membership event, the server of the user it is about — an invite, kick, ban or leave of a remote
 * user must reach that user's server although none of its users is joined. Never our own server.
 *
 * A room's joined servers are kept from its membership (JoinedServers) so the sender need not read
 * the members for every event: loaded once from the read model, then moved on by each record's own
 * membership change. A record whose state delta changes memberships through other events (state
 * resolution) cannot be followed that way: the room is loaded again.
 */
import type { Pdu } from '../../../events/index.ts';
import type { AnyPduAccepted } from '../../../room/index.ts';

/** The server part of a user id (everything after the first colon), or undefined when it has none. */
export const serverOfUserId = (userId: string): string | undefined => {
  const colon = userId.indexOf(':');
  return colon < 0 || colon === userId.length - 1 ? undefined : userId.slice(colon + 1);
};

/**
 * Whether this server created the event: its sender is one of our users. Not `record.local`: an
 * invite we counter-signed or a join we built for a remote user arrive by other paths.
 */
export const isCreatedBy = (pdu: Pdu, serverName: string): boolean =>
  typeof pdu.sender === 'string' && serverOfUserId(pdu.sender) === serverName;

const membershipOf = (pdu: Pdu): string => {
  const content = pdu.content;
  const membership = typeof content === 'object' && content !== null && !Array.isArray(content) ? content.membership : undefined;
  return typeof membership === 'string' ? membership : 'leave';
};

/** A room's members by membership, with the number of joined users per server. */
export class JoinedServers {
  readonly #membership = new Map<string, string>();
  readonly #joinedPerServer = new Map<string, number>();

  /** From the room's member events (m.room.member state events: `state_key` is the user). */
  static of(memberEvents: readonly { readonly pdu: Pdu }[]): JoinedServers {
    const servers = new JoinedServers();
    for (const { pdu } of memberEvents) {
      if (typeof pdu.state_key === 'string') servers.set(pdu.state_key, membershipOf(pdu));
    }
    return servers;
  }

  /** Records a user's membership now (idempotent, so replaying a record does no harm). */
  set(userId: string, membership: string): void {
    const server = serverOfUserId(userId);
    const wasJoined = this.#membership.get(userId) === 'join';
    const isJoined = membership === 'join';
    this.#membership.set(userId, membership);
    if (server === undefined || wasJoined === isJoined) return;
    const count = (this.#joinedPerServer.get(server) ?? 0) + (isJoined ? 1 : -1);
    if (count > 0) this.#joinedPerServer.set(server, count);
    else this.#joinedPerServer.delete(server);
  }

  /** Servers with at least one joined user. */
  servers(): IterableIterator<string> {
    return this.#joinedPerServer.keys();
  }
}

/** What a record does to a room's memberships, as JoinedServers can follow it. */
export type MembershipEffect =
  | { readonly kind: 'none' }
  /** The record's own event sets `userId`'s membership. */
  | { readonly kind: 'own'; readonly userId: string; readonly membership: string }
  /** Memberships changed through other events: load the room's members again. */
  | { readonly kind: 'reload' };

export const membershipEffectOf = (record: AnyPduAccepted): MembershipEffect => {
  let effect: MembershipEffect = { kind: 'none' };
  for (const change of record.stateDelta) {
    if (change.type !== 'm.room.member') continue;
    if (change.eventId !== record.eventId || effect.kind !== 'none') return { kind: 'reload' };
    effect = { kind: 'own', userId: change.stateKey, membership: membershipOf(record.pdu) };
  }
  return effect;
};

/** The servers an event of ours goes to, given the servers joined after it. */
export const destinationsOf = (pdu: Pdu, joinedServers: Iterable<string>, ourServer: string): string[] => {
  const destinations = new Set(joinedServers);
  if (pdu.type === 'm.room.member' && typeof pdu.state_key === 'string') {
    const target = serverOfUserId(pdu.state_key);
    if (target !== undefined) destinations.add(target);
  }
  destinations.delete(ourServer);
  return [...destinations].sort();
};
