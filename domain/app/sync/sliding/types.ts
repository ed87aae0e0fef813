/**
 * Simplified sliding sync (MSC4186): the parsed request, the answer before it is rendered in one of
 * the two wire forms (the unstable `org.matrix.simplified_msc3575` one clients send today and the
 * merged `/v4/sync` one), and what a connection remembers between its requests.
 *
 * This file is the contract with the extensions (extensions/index.ts): they get the request's
 * `extensions` as sent (one object per extension, each validated as an object only), the rooms in
 * scope and the positions, and hand back their answer and the positions to remember.
 */
import type { JsonObject, JsonValue } from '../../../json.ts';
import type { SyncPositions } from '../token.ts';
import type { SyncRequester } from '../context.ts';
import type { RoomMarks } from './lists.ts';

/** Which state a room answer carries (MSC4186 `RequiredStateRequest`; the unstable pairs map onto it). */
export interface RequiredStateElement {
  /** Absent: any type (`*`). */
  readonly type?: string;
  /** Absent: any state key (`*`); `$ME` is resolved to the requester when parsed. */
  readonly stateKey?: string;
}

export interface RequiredStateConfig {
  readonly include: readonly RequiredStateElement[];
  readonly exclude: readonly RequiredStateElement[];
  /** `$LAZY`: the member events of the timeline's senders (and targets of its member events). */
  readonly lazyMembers: boolean;
}

/** What to send of a room: the "room config" of a list or a subscription. */
export interface RoomConfig {
  readonly timelineLimit: number;
  readonly requiredState: RequiredStateConfig;
}

/** MSC4186 `SlidingRoomFilter` (absent fields do not filter). */
export interface SlidingRoomFilters {
  readonly isDm?: boolean;
  readonly isInvite?: boolean;
  readonly isEncrypted?: boolean;
  readonly spaces?: readonly string[];
  /** `null` stands for rooms without a type. */
  readonly roomTypes?: readonly (string | null)[];
  readonly notRoomTypes?: readonly (string | null)[];
  readonly tags?: readonly string[];
  readonly notTags?: readonly string[];
}

export interface SlidingListConfig extends RoomConfig {
  /** Inclusive index ranges into the filtered, sorted rooms; absent: every room. */
  readonly ranges?: readonly (readonly [number, number])[];
  readonly filters: SlidingRoomFilters;
}

/** Each extension's config object as the client sent it; each extension parses its own. */
export type ExtensionsRequest = Readonly<Record<string, JsonObject>>;

export interface SlidingSyncRequest {
  /** Several connections per device, told apart by `conn_id` (absent and empty are one connection). */
  readonly connId: string;
  readonly pos?: string;
  readonly timeoutMs: number;
  readonly setPresence?: string;
  readonly lists: Readonly<Record<string, SlidingListConfig>>;
  readonly roomSubscriptions: Readonly<Record<string, RoomConfig>>;
  readonly extensions: ExtensionsRequest;
}

/** MSC4186 `StrippedHero`. */
export interface SlidingHero {
  readonly userId: string;
  readonly displayname?: string;
  readonly avatarUrl?: string;
}

/** One room of the answer; absent fields are unchanged since the room was last sent (unless `initial`). */
export interface SlidingRoomAnswer {
  readonly membership?: string;
  readonly lists?: readonly string[];
  /** `null`: removed since last sent. */
  readonly name?: string | null;
  readonly avatar?: string | null;
  readonly heroes?: readonly SlidingHero[];
  readonly isDm?: boolean;
  readonly initial?: boolean;
  readonly expandedTimeline?: boolean;
  /** State events, and `{ type, state_key }` stubs for state removed since last sent. */
  readonly requiredState?: readonly JsonObject[];
  readonly timeline?: readonly JsonObject[];
  readonly prevBatch?: string;
  readonly limited?: boolean;
  readonly numLive?: number;
  readonly bumpStamp?: number;
  readonly joinedCount?: number;
  readonly invitedCount?: number;
  readonly notificationCount?: number;
  readonly highlightCount?: number;
  /** Invites, knocks and rejections: the stripped state (`invite_state` / `stripped_state`). */
  readonly strippedState?: readonly JsonObject[];
}

/** A list's answer: its count, and each range's rooms (the unstable form sends them as `ops`). */
export interface SlidingListAnswer {
  readonly count: number;
  readonly ranges: readonly { readonly range: readonly [number, number]; readonly roomIds: readonly string[] }[];
}

export interface SlidingSyncAnswer {
  readonly pos: string;
  readonly lists: Readonly<Record<string, SlidingListAnswer>>;
  readonly rooms: Readonly<Record<string, SlidingRoomAnswer>>;
  readonly extensions: JsonObject;
}

/** What a connection remembers of a room it sent. */
export interface SentRoom {
  /** The room's partition position the room was sent up to (exclusive): later events are new. */
  readonly upTo: number;
  /** The membership the room was sent with (a change is news). */
  readonly membership: string;
  /** The room config it was sent with (the configs of every rule it matched): an expansion sends what it adds. */
  readonly timelineLimit: number;
  readonly requiredState: readonly RequiredStateConfig[];
  /** Users whose member events were sent lazily (bounded; one forgotten is sent again). */
  readonly lazyMembers: readonly string[];
  /** Name, avatar and DM flag as sent: only changes are sent again. */
  readonly name: string | null;
  readonly avatar: string | null;
  readonly isDm: boolean;
}

/** A connection's state at one `pos`: what every later answer on it is computed against. */
export interface ConnectionState {
  /** The stream positions the answer that made this `pos` was computed up to. */
  readonly positions: SyncPositions;
  readonly rooms: ReadonlyMap<string, SentRoom>;
  /** The DM rooms and tags the list filters read, as of the account data position `marksAt`. */
  readonly marks: RoomMarks;
  readonly marksAt: number;
  /** Each extension's position to go on from (what it handed back), by extension name. */
  readonly extensions: Readonly<Record<string, JsonValue>>;
}

/** The rooms an answer covers, for the extensions' `lists` / `rooms` scoping. */
export interface RoomsInScope {
  readonly lists: Readonly<Record<string, readonly string[]>>;
  readonly subscriptions: readonly string[];
}

export interface ExtensionsInput {
  readonly requester: SyncRequester;
  readonly extensions: ExtensionsRequest;
  /** The extension positions of the connection at `pos` (empty for a new connection). */
  readonly connection: Readonly<Record<string, JsonValue>>;
  readonly roomsInScope: RoomsInScope;
  /**
   * This answer's rooms (the receipts of a room sent from scratch are those on its timeline, as
   * Synapse sends them); absent: none.
   */
  readonly rooms?: Readonly<Record<string, SlidingRoomAnswer>>;
  /** The user's membership in a room of the lists or subscriptions: receipts and typing go only to joined rooms. */
  readonly membership: (roomId: string) => string | undefined;
  /** Undefined for a new connection. */
  readonly since: SyncPositions | undefined;
  readonly upTo: SyncPositions;
}

export interface ExtensionsOutput {
  /** The response's `extensions` (empty when nothing is due: a long-poll keeps waiting). */
  readonly answer: JsonObject;
  /** The extension positions the next request on this connection goes on from. */
  readonly positions: Readonly<Record<string, JsonValue>>;
}
