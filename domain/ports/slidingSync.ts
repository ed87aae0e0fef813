/**
 * What simplified sliding sync (MSC4186) ranks a user's rooms with: the rooms read model's per-room
 * summaries (projections/rooms, schema version 4), read for all of a user's rooms in one query,
 * most recent activity first, so no room's state is read to order or filter the list.
 */

export interface SlidingRoomSummary {
  readonly roomId: string;
  readonly partition: number;
  /** The room's newest applied offset. */
  readonly lastOffset: number;
  /** The user's current membership and the event that set it. */
  readonly membership: string;
  readonly membershipEventId: string;
  /** Who sent that event (another user for a kick or a ban); null when the event is not held. */
  readonly membershipSender: string | null;
  /**
   * What the list is sorted by, newest first: for a joined room its last activity (a bump event,
   * or the join itself when later), for any other its membership's time — what happened in a room
   * after the user left is not theirs to see.
   */
  readonly bumpStamp: number;
  readonly roomType: string | null;
  readonly encrypted: boolean;
  readonly name: string | null;
  readonly avatar: string | null;
  readonly canonicalAlias: string | null;
  readonly joinedCount: number;
  readonly invitedCount: number;
}

export interface SlidingRoomsReadModel {
  /** Every room the user has a membership in (any), sorted by `bumpStamp` newest first, then room id. */
  userRooms(userId: string): Promise<SlidingRoomSummary[]>;
  /** The rooms each of these spaces names as children (current `m.space.child` state with a non-empty `via`). */
  spaceChildren(spaceIds: readonly string[]): Promise<Map<string, Set<string>>>;
}
