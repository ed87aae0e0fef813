/**
 * Room requests to other homeservers (server-server-api § Joining Rooms, § Leaving Rooms,
 * § Inviting to a room, § Retrieving events, § Backfilling and retrieving missing events). The
 * adapter checks each answer's outer shape; the events inside are untrusted and go through the
 * decider. Failures reject with a MatrixError a client can be given (remote 4xx passed on, 502/504).
 */
import type { Pdu } from '../events/index.ts';
import type { JsonObject } from '../json.ts';

/** `make_join` / `make_leave` / `make_knock`: the template to sign and the room's version. */
export interface MembershipTemplate {
  readonly roomVersion: string;
  readonly event: JsonObject;
}

/** `send_join` v2's answer. */
export interface SendJoinAnswer {
  readonly state: readonly unknown[];
  readonly authChain: readonly unknown[];
  /** The join as the resident server signed it too (restricted rooms), when it did. */
  readonly event?: JsonObject;
}

export interface MissingEventsQuery {
  readonly earliestEvents: readonly string[];
  readonly latestEvents: readonly string[];
  readonly limit: number;
  readonly minDepth: number;
}

export interface RemoteRooms {
  makeJoin(serverName: string, roomId: string, userId: string, supportedVersions: readonly string[]): Promise<MembershipTemplate>;
  sendJoin(serverName: string, roomId: string, eventId: string, event: Pdu): Promise<SendJoinAnswer>;
  makeLeave(serverName: string, roomId: string, userId: string): Promise<MembershipTemplate>;
  makeKnock(serverName: string, roomId: string, userId: string, supportedVersions: readonly string[]): Promise<MembershipTemplate>;
  /** `send_knock`: the stripped state the knocking user is shown. */
  sendKnock(serverName: string, roomId: string, eventId: string, event: Pdu): Promise<readonly JsonObject[]>;
  sendLeave(serverName: string, roomId: string, eventId: string, event: Pdu): Promise<void>;
  /** `invite` v2: the invite as the invitee's server signed it too. */
  invite(serverName: string, roomId: string, eventId: string, body: { roomVersion: string; event: Pdu; inviteRoomState: readonly JsonObject[] }): Promise<JsonObject>;
  getMissingEvents(serverName: string, roomId: string, query: MissingEventsQuery): Promise<readonly unknown[]>;
  /** `GET /event/{eventId}`: the event, or undefined when the server does not have it. */
  event(serverName: string, eventId: string): Promise<unknown>;
  /** `GET /event_auth/{roomId}/{eventId}`: the event's full auth chain. */
  eventAuth(serverName: string, roomId: string, eventId: string): Promise<readonly unknown[]>;
  /** `GET /state/{roomId}?event_id=`: the room's state before the event, and its auth chain. */
  state(serverName: string, roomId: string, eventId: string): Promise<{ readonly pdus: readonly unknown[]; readonly authChain: readonly unknown[] }>;
  stateIds(serverName: string, roomId: string, eventId: string): Promise<{ readonly pduIds: readonly string[]; readonly authChainIds: readonly string[] }>;
  backfill(serverName: string, roomId: string, fromEventIds: readonly string[], limit: number): Promise<readonly unknown[]>;
}
