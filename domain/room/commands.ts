/** Commands a room's single writer decides on, and what deciding needs from outside. */
import type { JsonObject } from '../json.ts';
import type { Pdu, RoomEvent, SigningKey, StateMap } from '../events/index.ts';
import type { EventRecord, LocalOrigin } from './records.ts';

/** What a client asks for; the decider fills in the DAG fields, hashes and signature. */
export interface LocalEventRequest {
  readonly type: string;
  readonly stateKey?: string;
  readonly sender: string;
  readonly content: JsonObject;
  readonly redacts?: string;
  /**
   * For m.room.member: the memberships the state key's user must hold when the event is decided
   * (no member event counts as 'leave'), so the event means what was asked — /unban only unbans,
   * /kick only removes a member, a profile update never (re)joins. Judged on the writer's state,
   * not on an earlier read that a concurrent change may have outdated.
   */
  readonly ifMembershipIn?: readonly string[];
  /**
   * The event's `origin_server_ts` when an application service massages it (application-service-api.md
   * § Timestamp massaging); the command's `now` otherwise. It changes no ordering: the event goes
   * at the tip of the DAG as any other.
   */
  readonly originServerTs?: number;
}

export type RoomCommand =
  /**
   * Creates a room: the create event, then `events` in order (creator's join, power levels, join
   * rules, …), all accepted or none. `roomId` is required before v12 and ignored since (the room id
   * is the create event's hash).
   */
  | {
      readonly type: 'createRoom';
      readonly roomId?: string;
      readonly createContent: JsonObject;
      readonly creator: string;
      readonly events: readonly LocalEventRequest[];
      /** This server's aliases the new room claims once created: its m.room.canonical_alias may name them. */
      readonly claimedAliases?: readonly string[];
      readonly signingKey: SigningKey;
      readonly local: LocalOrigin;
      readonly now: number;
    }
  /** Sends one event created on this server at a client's request. */
  | {
      readonly type: 'sendLocal';
      readonly event: LocalEventRequest;
      readonly signingKey: SigningKey;
      readonly local: LocalOrigin;
      readonly now: number;
    }
  /** Takes in a PDU received from another server (server-server-api.md § Checks performed on receipt of a PDU). */
  | { readonly type: 'ingestPdu'; readonly pdu: Pdu; readonly origin: string; readonly receivedAt: number };

/** A server's verify key as the key ring knows it. */
export interface VerifyKey {
  readonly publicKeyBase64: string;
  /** Milliseconds since the epoch; keys are valid for events sent before this (since v5). */
  readonly validUntilTs: number;
}

/** A redaction accepted before its target arrived (records.ts `awaitsTarget`). */
export interface AwaitingRedaction {
  readonly eventId: string;
  readonly roomId: string;
  readonly sender: string;
  readonly senderMayRedact: boolean;
}

/**
 * Synchronous lookups the use-case preloads before calling `decide` ("plan, fetch, decide").
 * Anything missing makes `decide` answer `missing` so the caller can fetch and try again.
 */
export interface RoomLookups {
  /** Any event this server holds for the room (accepted, soft-failed or outlier). */
  getEvent(eventId: string): RoomEvent | undefined;
  isRejected(eventId: string): boolean;
  /** The room state after an accepted event. */
  stateAfter(eventId: string): StateMap | undefined;
  verifyKey(serverName: string, keyId: string): VerifyKey | undefined;
  /**
   * Redactions of `eventId` that were accepted before it and wait for it (read model:
   * `room_redactions` rows with status 'awaiting'). Only remote events can have any (a local event's
   * id did not exist before); a caller ingesting remote events must preload them, absent means none.
   */
  awaitingRedactions?(eventId: string): readonly AwaitingRedaction[];
  /**
   * The room this server's alias points to, as the directory said when the command was planned
   * (aliases are server-wide, not room events). Undefined when unknown or not preloaded: a local
   * m.room.canonical_alias naming it is then refused.
   */
  aliasRoom?(alias: string): string | undefined;
  /**
   * The rooms a local user is joined to, preloaded for a join to a restricted room (since v8): the
   * resident server may only authorise it for a user who meets an `allow` condition. Undefined
   * when not preloaded: such a join is then refused.
   */
  joinedRooms?(userId: string): ReadonlySet<string> | undefined;
  /**
   * Whether a local user's m.invite_permission_config blocks invites (client-server-api
   * § Invite permission, since v1.18), preloaded for an invite of them. Undefined: no block known.
   */
  blocksInvites?(userId: string): boolean | undefined;
  /**
   * Whether a local user is a guest (client-server-api § Guest access), preloaded for the sender
   * of an m.room.member event and the target of a join. Undefined: not a guest.
   */
  isGuest?(userId: string): boolean | undefined;
}

export const NO_LOOKUPS: RoomLookups = {
  getEvent: () => undefined,
  isRejected: () => false,
  stateAfter: () => undefined,
  verifyKey: () => undefined,
};

/** Why a command produced no records. `errcode` is what a client sees for a local command. */
export interface DecisionError {
  readonly errcode:
    | 'M_FORBIDDEN' | 'M_BAD_JSON' | 'M_TOO_LARGE' | 'M_NOT_FOUND' | 'M_UNSUPPORTED_ROOM_VERSION' | 'M_INVALID_PARAM'
    | 'M_INVALID_ROOM_STATE' | 'M_BAD_ALIAS' | 'M_INVITE_BLOCKED';
  readonly reason: string;
}

export type Decision =
  | { readonly outcome: 'records'; readonly records: readonly EventRecord[] }
  /**
   * A local state event identical to the current one at its (type, state key) — same sender, same
   * content — changes nothing: `event` is that current event and nothing is appended (Synapse's
   * `deduplicate_state_event`, and for memberships its same sender/membership/content check).
   */
  | { readonly outcome: 'unchanged'; readonly event: RoomEvent }
  /** A local command that may not happen (auth or format); nothing is appended. */
  | { readonly outcome: 'refused'; readonly error: DecisionError }
  /** A remote PDU dropped before it could be judged (bad format or signature); nothing is appended. */
  | { readonly outcome: 'dropped'; readonly reason: string }
  /** Events (or their state) the decider needs but the lookups lack. */
  | { readonly outcome: 'missing'; readonly eventIds: readonly string[] };
