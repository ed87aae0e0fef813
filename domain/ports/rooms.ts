/**
 * Ports of the rooms use-cases: the rooms read model (projections/rooms implements it over SQL),
 * the room directory (aliases and published rooms, written by use-cases, not room events), the
 * projection's read-your-writes wait, and this server's signing key.
 */
import type { JsonObject } from '../json.ts';
import type { Pdu, SigningKey } from '../events/index.ts';
import type { LocalOrigin } from '../room/index.ts';
import type { ProfileFields } from './accounts.ts';

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
}

export interface RoomReadModel {
  snapshot(roomId: string): Promise<RoomSnapshot | undefined>;
  roomInfo(roomId: string): Promise<RoomInfo | undefined>;
  event(eventId: string): Promise<StoredEvent | undefined>;
  /** The event a device already sent with this transaction id in this room. */
  eventIdForTransaction(roomId: string, origin: LocalOrigin): Promise<string | undefined>;
  currentState(roomId: string): Promise<StoredEvent[]>;
  stateEvent(roomId: string, type: string, stateKey: string): Promise<StoredEvent | undefined>;
  /** The room state right after the event at `offset` (current state minus later changes). */
  stateAt(roomId: string, offset: number): Promise<StoredEvent[]>;
  /** Membership events of every user in the current state, or at `offset`. */
  members(roomId: string, offset?: number): Promise<StoredEvent[]>;
  /** A user's membership changes in a room, oldest first. */
  membershipHistory(roomId: string, userId: string): Promise<MembershipChange[]>;
  /** Room ids where the user's current membership is one of `memberships`. */
  roomsWithMembership(userId: string, memberships: readonly string[]): Promise<string[]>;
  messages(roomId: string, query: MessagesQuery): Promise<StoredEvent[]>;
  /** Events on both sides of an offset, nearest first on each side. */
  around(roomId: string, offset: number, before: number, after: number, filter?: EventFilter): Promise<{ before: StoredEvent[]; after: StoredEvent[] }>;
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
  /** Published rooms as PublicRoomsChunk objects, most joined members first. */
  /** Marks a room forgotten (or not) for a user (rooms.yaml: /forget); joining again clears it. */
  setForgotten(userId: string, roomId: string, forgotten: boolean): Promise<void>;
  forgottenRooms(userId: string): Promise<string[]>;
  publicRooms(options: { limit: number; offset: number; searchTerm?: string }): Promise<PublicRoomsPage>;
}

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
}

export interface RoomSummaryCounts {
  readonly joined: number;
  readonly invited: number;
  /** Up to 5 joined or invited members other than the viewer, oldest membership first. */
  readonly heroes: readonly string[];
}

/**
 * What /sync needs from the rooms read model beyond RoomReadModel (projections/rooms/syncQueries.ts).
 * Positions are per log partition: `upTo.get(p)` is the rooms projection's next offset to apply.
 */
export interface SyncReadModel {
  /** The rooms projection's applied positions: partition → next offset (absent = nothing applied). */
  roomPositions(): Promise<Map<number, number>>;
  /** The user's membership changes in every room, oldest first, at offsets below `upTo` of their partition. */
  membershipChanges(userId: string, upTo: ReadonlyMap<number, number>): Promise<UserMembershipChange[]>;
  /**
   * Notifying events (messages, encrypted, stickers from others) in (after, before) and how many of
   * them mention the user (m.mentions.user_ids, else the body contains one of `names`); with
   * `redactions`, the m.room.redaction events (from anyone) in the same range.
   */
  notificationCounts(roomId: string, userId: string, after: number, before: number, names: readonly string[]): Promise<{ notifications: number; highlights: number; redactions: number }>;
  /** Joined / invited counts and heroes from the current memberships. */
  roomSummary(roomId: string, viewer: string): Promise<RoomSummaryCounts>;
}
