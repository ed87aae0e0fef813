/**
 * Ports of the rooms use-cases: the rooms read model (projections/rooms implements it over SQL),
 * the room directory (aliases and published rooms, written by use-cases, not room events), the
 * projection's read-your-writes wait, and this server's signing key.
 */
import type { JsonObject } from '../json.ts';
import type { Pdu, SigningKey } from '../events/index.ts';
import type { AwaitingRedaction, LocalOrigin } from '../room/index.ts';
import type { ProfileFields } from './accounts.ts';
import type { UserDataPositions } from './userData.ts';

/** An accepted event as the rooms read model holds it. */
export interface StoredEvent {
  readonly eventId: string;
  readonly roomId: string;
  readonly roomVersion: string;
  /** Log partition of the room and the event's offset in it: the room's stream position. */
  readonly partition: number;
  readonly offset: number;
  readonly type: string;
  readonly stateKey: string | null;
  readonly sender: string;
  readonly originServerTs: number;
  /** The PDU; already stripped by the redaction algorithm when the event was redacted. */
  readonly pdu: Pdu;
  /** The redaction event that redacted this one, if any. */
  readonly redactedBecause: StoredEvent | null;
  /** Who asked for it on this server, for the sender device's `transaction_id`. */
  readonly local: LocalOrigin | null;
  /** For state events: the event this one replaced in the room state. */
  readonly replacesState: string | null;
  /** Content of `replacesState`, for `unsigned.prev_content`. */
  readonly prevContent: JsonObject | null;
  /**
   * Whether any event relates to this one with a bundled rel type (m.thread, m.replace,
   * m.reference), by any sender at any offset; set by reads that probe it in the same statement
   * (RoomReadModel.messages), so the aggregation need not probe again.
   */
  readonly hasChildren?: boolean;
}

/** What the room writer needs to rebuild a room's RoomState without replaying its history. */
export interface RoomSnapshot {
  readonly roomId: string;
  readonly roomVersion: string;
  readonly partition: number;
  /** Offset of the newest record of this room the snapshot reflects. */
  readonly offset: number;
  readonly state: readonly { readonly type: string; readonly stateKey: string; readonly eventId: string }[];
  /** PDUs of the current state events and of the forward extremities. */
  readonly events: readonly { readonly eventId: string; readonly pdu: Pdu }[];
  readonly forwardExtremities: readonly string[];
  readonly maxDepth: number;
  readonly lastEventId: string | null;
}

export interface RoomInfo {
  readonly roomId: string;
  readonly roomVersion: string;
  readonly creator: string;
  readonly roomType: string | null;
  readonly partition: number;
  /** Offset of the newest event of the room. */
  readonly lastOffset: number;
}

export interface MembershipChange {
  readonly offset: number;
  readonly membership: string;
  readonly eventId: string;
}

/** Offsets of a room's partition in [from, to). */
export interface OffsetRange {
  readonly from: number;
  readonly to: number;
}

/** One change of a state value (a room's history_visibility, a user's membership). */
export interface StateValueChange {
  readonly offset: number;
  /** The new value; null when the state was removed or the field is missing. */
  readonly value: string | null;
  /** The event at `offset` is the state event itself (not a change carried by another event). */
  readonly atEvent: boolean;
}

/** What history visibility needs about a room and a user, oldest first. */
export interface VisibilityHistory {
  readonly historyVisibility: readonly StateValueChange[];
  readonly membership: readonly StateValueChange[];
}

/** A /messages filter (client-server-api § Filtering, RoomEventFilter). */
export interface EventFilter {
  readonly types?: readonly string[];
  readonly notTypes?: readonly string[];
  readonly senders?: readonly string[];
  readonly notSenders?: readonly string[];
  readonly containsUrl?: boolean;
}

export interface MessagesQuery {
  /** 'b': offsets below `from`, newest first; 'f': offsets at or above `from`, oldest first. */
  readonly dir: 'b' | 'f';
  /** Exclusive upper bound for 'b', inclusive lower bound for 'f'. */
  readonly from: number;
  /** The other end: 'b' stops at offsets below it, 'f' at offsets at or above it. */
  readonly to?: number;
  readonly limit: number;
  readonly filter?: EventFilter;
  /** Visibility window for the requester: offsets outside are never returned. */
  readonly minOffset?: number;
  readonly maxOffset?: number;
  /** History visibility: only offsets in these ranges are returned (empty: none). */
  readonly visible?: readonly OffsetRange[];
}

export interface RoomReadModel {
  snapshot(roomId: string): Promise<RoomSnapshot | undefined>;
  roomInfo(roomId: string): Promise<RoomInfo | undefined>;
  event(eventId: string): Promise<StoredEvent | undefined>;
  /** The event a device already sent with this transaction id in this room. */
  eventIdForTransaction(roomId: string, origin: LocalOrigin): Promise<string | undefined>;
  /**
   * Every transaction id a device used in a room → the first event sent with it, when there are at
   * most `limit`; otherwise `complete` is false (and the ids are not all there).
   */
  transactionsOfDevice(roomId: string, userId: string, deviceId: string | null, limit: number):
    Promise<{ readonly byTxnId: ReadonlyMap<string, string>; readonly complete: boolean }>;
  currentState(roomId: string): Promise<StoredEvent[]>;
  stateEvent(roomId: string, type: string, stateKey: string): Promise<StoredEvent | undefined>;
  /** The room state right after the event at `offset` (current state minus later changes). */
  stateAt(roomId: string, offset: number): Promise<StoredEvent[]>;
  /** Membership events of every user in the current state, or at `offset`. */
  members(roomId: string, offset?: number): Promise<StoredEvent[]>;
  /** A user's membership changes in a room, oldest first. */
  membershipHistory(roomId: string, userId: string): Promise<MembershipChange[]>;
  /** The room's m.room.history_visibility changes and the user's membership changes below `upTo`, in one statement. */
  visibilityHistory(roomId: string, userId: string, upTo?: number): Promise<VisibilityHistory>;
  /** Room ids where the user's current membership is one of `memberships`. */
  roomsWithMembership(userId: string, memberships: readonly string[]): Promise<string[]>;
  /**
   * Redactions of the room accepted before their targets and still waiting for them (records.ts
   * 'awaitsTarget'): whoever ingests one of `eventIds` preloads these for the decider
   * (RoomLookups.awaitingRedactions), which judges whether they take effect.
   */
  awaitingRedactions(roomId: string, eventIds: readonly string[]): Promise<ReadonlyMap<string, readonly AwaitingRedaction[]>>;
  /** What another server's invite showed of a room we are not in (records.ts `membership.outOfBand`), by the invite's id. */
  strippedState(eventId: string): Promise<readonly JsonObject[] | undefined>;
  messages(roomId: string, query: MessagesQuery): Promise<StoredEvent[]>;
  /** Events on both sides of an offset, nearest first on each side. */
  around(
    roomId: string, offset: number, before: number, after: number, filter?: EventFilter, visible?: readonly OffsetRange[],
  ): Promise<{ before: StoredEvent[]; after: StoredEvent[] }>;
}

export type DirectoryVisibility = 'public' | 'private';

export interface PublicRoomsPage {
  readonly chunk: JsonObject[];
  readonly total: number;
  readonly nextOffset: number | null;
}

/**
 * Aliases and the room directory. They are not room events (m.room.canonical_alias only advertises
 * aliases): an alias is a server-wide mapping that must be unique across rooms at once, which a
 * per-room log cannot enforce, so the use-cases write them to SQL directly.
 */
export interface RoomDirectory {
  /** False (and no change) when the alias is taken. */
  createAlias(alias: string, roomId: string, creator: string): Promise<boolean>;
  resolveAlias(alias: string): Promise<{ roomId: string; creator: string } | undefined>;
  deleteAlias(alias: string): Promise<boolean>;
  aliasesOf(roomId: string): Promise<string[]>;
  setVisibility(roomId: string, visibility: DirectoryVisibility): Promise<void>;
  visibility(roomId: string): Promise<DirectoryVisibility>;
  /** Marks a room forgotten (or not) for a user (rooms.yaml: /forget); joining again clears it. */
  setForgotten(userId: string, roomId: string, forgotten: boolean): Promise<void>;
  forgottenRooms(userId: string): Promise<string[]>;
  /**
   * Publishes (or withdraws) a room in a bridge's list for one of its networks
   * (`PUT /directory/list/appservice/{networkId}/{roomId}`), apart from the server's own list.
   */
  setNetworkVisibility(appserviceId: string, networkId: string, roomId: string, visibility: DirectoryVisibility): Promise<void>;
  /**
   * Published rooms as PublicRoomsChunk objects, most joined members first. `network`: which list —
   * the server's own (absent), one bridge network's, or all of them together.
   * `roomTypes`: only rooms of these types, `null` matching rooms without one (list_public_rooms.yaml).
   */
  publicRooms(options: {
    limit: number; offset: number; searchTerm?: string; roomTypes?: readonly (string | null)[]; network?: PublicRoomsNetwork;
  }): Promise<PublicRoomsPage>;
}

/** A bridge's network list (its `instance_id` is `appserviceId|networkId`), or every list at once. */
export type PublicRoomsNetwork = { readonly appserviceId: string; readonly networkId: string } | 'all';

/** Waits until the rooms projection has applied a log offset (read-your-writes). */
export interface ProjectionWaiter {
  waitFor(partition: number, offset: number, timeoutMs: number): Promise<boolean>;
}

/** This server's keys: the writer signs new events with the current one. */
export interface ServerKeys {
  current(): SigningKey;
}

/** Profiles of local users, for the displayname and avatar_url of membership events. */
export interface ProfileReader {
  getProfile(userId: string): Promise<ProfileFields | undefined>;
}

/** One change of a user's membership in a room, as /sync reads them across rooms. */
export interface UserMembershipChange {
  readonly roomId: string;
  readonly partition: number;
  readonly offset: number;
  /** join, invite, leave, ban or knock ('leave' when the member state was removed). */
  readonly membership: string;
  readonly eventId: string | null;
  /** The room's newest applied offset when read (lets /sync skip rooms with nothing new). */
  readonly roomLastOffset?: number;
}

export interface RoomSummaryCounts {
  readonly joined: number;
  readonly invited: number;
  /** Up to 5 joined or invited members other than the viewer, oldest membership first. */
  readonly heroes: readonly string[];
}

/** The room state a push context starts from, as of a log offset (SyncReadModel.unreadWindow). */
export interface PushStateAt {
  /** Joined members at that point. */
  readonly joinedMembers: number;
  /** The user's own m.room.member event, m.room.power_levels and m.room.create, when present. */
  readonly ownMember?: StoredEvent;
  readonly powerLevels?: StoredEvent;
  readonly create?: StoredEvent;
}

export interface UnreadWindow {
  readonly events: readonly StoredEvent[];
  /** Present when asked for (`withState`). */
  readonly stateBefore?: PushStateAt;
}

/** An event /notifications may list: newest first by (ts, eventId) across the user's rooms. */
export interface NotificationCandidate {
  readonly roomId: string;
  readonly eventId: string;
  readonly offset: number;
  readonly ts: number;
}

/** The scan behind /notifications (projections/rooms/unreadQueries.ts). */
export interface NotificationReadModel {
  /**
   * Events from others, not redacted, in rooms the user is joined to and sent after they first
   * joined, and the user's pending invite events (rooms they are invited to: that event only),
   * strictly older than `before` by (origin_server_ts, event_id), newest first.
   */
  candidates(userId: string, before: { readonly ts: number; readonly eventId: string } | undefined, limit: number): Promise<NotificationCandidate[]>;
}

/**
 * What /sync needs from the rooms read model beyond RoomReadModel (projections/rooms/syncQueries.ts).
 * Positions are per log partition: `upTo.get(p)` is the rooms projection's next offset to apply.
 */
export interface SyncReadModel {
  /**
   * In one statement (one snapshot): the rooms projection's applied positions (partition → next
   * offset, absent = nothing applied) and every user-data stream's position.
   */
  positions(): Promise<{ rooms: Map<number, number>; streams: UserDataPositions }>;
  /**
   * `positions()` and the user's `membershipChanges` below them, in one statement: the first two
   * steps of every /sync computation in one round trip.
   */
  positionsWithMembershipChanges(userId: string): Promise<{
    rooms: Map<number, number>; streams: UserDataPositions; changes: UserMembershipChange[];
  }>;
  /** The current state events of a room for these (type, state key) pairs, in one read. */
  stateEvents(roomId: string, keys: readonly (readonly [type: string, stateKey: string])[]): Promise<StoredEvent[]>;
  /** The user's membership changes in every room, oldest first, at offsets below `upTo` of their partition. */
  membershipChanges(userId: string, upTo: ReadonlyMap<number, number>): Promise<UserMembershipChange[]>;
  /**
   * What push rules are evaluated over for `userId`'s unread counts: the room's events in
   * (after, before), oldest first, except the user's own non-state events (m.room.redaction
   * events are kept from anyone); with `withState`, the state as of `after` too. With `limit`,
   * only the first `limit` of those events (the caller continues after the last). A null user
   * (without `withState`): every event of the window, for several users' counts at once.
   */
  unreadWindow(roomId: string, userId: string | null, after: number, before: number, withState: boolean, limit?: number): Promise<UnreadWindow>;
  /** Joined / invited counts and heroes from the current memberships. */
  roomSummary(roomId: string, viewer: string): Promise<RoomSummaryCounts>;
}

/**
 * Event relationships (client-server-api § Relationships): what /relations, /threads, the bundled
 * aggregations and /timestamp_to_event read (projections/rooms/relationQueries.ts). Every query
 * takes the requester's visibility window, so no event outside it is returned or counted.
 */
export interface VisibleRange {
  /** History visibility: only offsets in these ranges count (empty: none; absent: all). */
  readonly visible?: readonly OffsetRange[];
}

export interface RelationsQuery extends VisibleRange {
  readonly relType?: string;
  readonly eventType?: string;
  /** As MessagesQuery: 'b' offsets below `from` newest first, 'f' offsets at or above `from` oldest first. */
  readonly dir: 'b' | 'f';
  readonly from?: number;
  readonly to?: number;
  readonly limit: number;
  /** Levels of relations to follow (1: direct children only). */
  readonly depth: number;
}

/** The raw material of `unsigned.m.relations` for one parent event. */
export interface RelationAggregation {
  readonly thread?: { readonly latest: StoredEvent; readonly count: number; readonly participated: boolean };
  /** The most recent valid edit (same sender and type, by origin_server_ts then event_id). */
  readonly replace?: StoredEvent;
  readonly references?: readonly string[];
}

/**
 * What aggregations count: the visibility window, without the non-state children of senders the
 * viewer ignores (as Synapse: a thread's count and latest event, and references, leave them out).
 */
export interface AggregationRange extends VisibleRange {
  readonly ignoredSenders?: readonly string[];
}

/** A parent event to aggregate: m.replace applies only when `editable`, m.thread only when `threadable`. */
export interface RelationParent {
  readonly eventId: string;
  readonly sender: string;
  readonly type: string;
  readonly editable: boolean;
  readonly threadable: boolean;
}

export interface ThreadsQuery extends VisibleRange {
  /** Only threads whose root or a reply was sent by this user. */
  readonly participant?: string;
  /** Threads whose latest reply is below this offset. */
  readonly before?: number;
  readonly limit: number;
}

export interface RelationsReadModel {
  relations(roomId: string, eventId: string, query: RelationsQuery): Promise<StoredEvent[]>;
  /** Aggregations of the given parents for `viewer`, in one batch; parents without children are absent. */
  aggregations(roomId: string, parents: readonly RelationParent[], viewer: string, range: AggregationRange): Promise<Map<string, RelationAggregation>>;
  /**
   * Which of `eventIds` have any child that may be bundled (m.thread, m.replace, m.reference), by
   * any sender at any offset: one indexed probe, so a page without children costs nothing more.
   */
  parentsWithChildren(roomId: string, eventIds: readonly string[]): Promise<ReadonlySet<string>>;
  /** Thread roots, most recently active first, with the offset of each one's latest reply. */
  threads(roomId: string, query: ThreadsQuery): Promise<{ root: StoredEvent; latestOffset: number }[]>;
  /** The event nearest `ts`: the first at or after it ('f') or the last at or before it ('b'). */
  eventAtTime(roomId: string, ts: number, dir: 'b' | 'f', range: VisibleRange): Promise<{ eventId: string; originServerTs: number } | undefined>;
}

/** A user found by the user directory (users.yaml: /user_directory/search). */
export interface DirectoryUser {
  readonly userId: string;
  readonly displayName: string | null;
  readonly avatarUrl: string | null;
}

export interface UserDirectoryReadModel {
  /**
   * Users (other than `requester`) sharing a room with them, or anyone joined to a public room, whose user id or display name
   * has a word starting with each of `words` (lower case); up to `limit`.
   */
  search(requester: string, words: readonly string[], limit: number): Promise<DirectoryUser[]>;
  /** Rooms where both users are joined, ordered by room id. */
  mutualRooms(userId: string, otherUserId: string): Promise<string[]>;
}

/** A report of content to the server's administrators (client-server-api § Reporting content). */
export interface ContentReport {
  readonly reporter: string;
  readonly roomId: string | null;
  readonly eventId: string | null;
  readonly userId: string | null;
  readonly reason: string | null;
  readonly receivedTs: number;
}

export interface ContentReports {
  add(report: ContentReport): Promise<void>;
}
