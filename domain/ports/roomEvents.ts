/**
 * The room DAG as the rooms read model holds it, for federation: events by id whatever their place
 * (timeline or outlier), and the state after an event. The room writer checks remote events against
 * it; the federation read endpoints (/event, /state, /backfill, …) answer from it.
 */
import type { StateMap } from '../events/index.ts';
import type { StateValueChange, StoredEvent } from './rooms.ts';

/** Where an event sits in the DAG: what the backfill and missing-events walks need, without its PDU. */
export interface GraphNode {
  readonly eventId: string;
  readonly roomId: string;
  readonly depth: number;
  /** The record's offset in the room's partition (its stream position; an outlier's own record). */
  readonly offset: number;
  readonly outlier: boolean;
  /** The PDU's `prev_events` as ids, whatever the room version's format. */
  readonly prevEventIds: readonly string[];
}

/** What decides which events of a room a server may see (history visibility over federation), oldest first. */
export interface ServerVisibilityHistory {
  /** Changes of the room's m.room.history_visibility (`value`: the new history_visibility). */
  readonly historyVisibility: readonly StateValueChange[];
  /** Changes of the memberships of the server's users (`value`: the new membership; null when removed). */
  readonly memberships: readonly (StateValueChange & { readonly userId: string })[];
}

export interface RoomEventGraph {
  /** The events this server holds of these ids (accepted or outliers; never rejected ones), in no particular order. */
  eventsByIds(eventIds: readonly string[]): Promise<StoredEvent[]>;
  /**
   * The room state after an accepted event: the room's state at the event's log offset, with the
   * event's `stateAfterDelta` applied (records.ts). Undefined for an unknown event or an outlier.
   */
  stateAfterEvent(eventId: string): Promise<StateMap | undefined>;
  /** The DAG positions of the events this server holds of these ids, in no particular order. */
  nodes(eventIds: readonly string[]): Promise<GraphNode[]>;
  /**
   * The union of the auth chains of these events of the room: their `auth_events`, those events'
   * `auth_events`, and so on, as far as this server holds them (the events themselves only when
   * one is in another's chain). Events of other rooms are neither started from nor followed.
   */
  authChainIds(roomId: string, eventIds: readonly string[]): Promise<string[]>;
  /**
   * The room's history visibility changes and the membership changes of `serverName`'s users, in
   * the room's log order (the linear state the client API's history visibility reads too).
   */
  serverVisibilityHistory(roomId: string, serverName: string): Promise<ServerVisibilityHistory>;
  /**
   * Whether one of `serverName`'s users is joined to the room now (Synapse's "host in room"): the
   * server name is all of a user id after its first colon, port included.
   */
  serverHasJoinedMember(roomId: string, serverName: string): Promise<boolean>;
}
