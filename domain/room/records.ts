/**
 * Strata's room log contract: the records appended to the room events topic, keyed by room id, so
 * one partition holds every record of a room in order. Every read model is a fold over these
 * records; a consumer must be able to rebuild its state from offset 0 using nothing else.
 *
 * Versioning: each record carries `v`. A change that a consumer could misread adds a new `v` (or a
 * new type); consumers must fail loudly on a (type, v) they do not know rather than skip it.
 */
import type { JsonObject } from '../json.ts';
import type { Pdu } from '../events/index.ts';

/** The topic that holds room records, partitioned by room id. */
export const ROOM_EVENTS_TOPIC = 'strata.room.events';

/** One change to a room's current state: `eventId` null means the key left the state. */
export interface StateChange {
  readonly type: string;
  readonly stateKey: string;
  readonly eventId: string | null;
  /** The event that held this key before, if any: lets consumers undo or audit the change. */
  readonly replaces: string | null;
}

/** Who asked for a local event, so the sender's devices can match it to their transaction id. */
export interface LocalOrigin {
  readonly userId: string;
  readonly deviceId: string | null;
  readonly txnId: string | null;
}

/**
 * An event joined the room DAG and its timeline. Consumers: append it to the timeline at this
 * position, apply `stateDelta` to the current state, and (for `m.room.redaction`) redact the target.
 */
export interface PduAccepted {
  readonly type: 'pdu.accepted';
  readonly v: 1;
  readonly roomId: string;
  readonly roomVersion: string;
  readonly eventId: string;
  /** The event exactly as signed (the wire format of its room version). */
  readonly pdu: Pdu;
  /** Changes to the room's current state caused by this event (after state resolution). */
  readonly stateDelta: readonly StateChange[];
  /** The previous accepted event of this room in log order, or null for the first: a gap detector. */
  readonly prevAcceptedEventId: string | null;
  /** The room's forward extremities after this event. */
  readonly forwardExtremities: readonly string[];
  /** Set for events created on this server at a client's request. */
  readonly local: LocalOrigin | null;
  /** Milliseconds since the epoch when this server accepted the event. */
  readonly acceptedAt: number;
}

/**
 * A remote event that passed its own auth checks but not against the room's current state
 * (server-server-api.md § Soft failure): kept in the DAG, not shown to clients, not an extremity.
 */
export interface PduSoftFailed {
  readonly type: 'pdu.softFailed';
  readonly v: 1;
  readonly roomId: string;
  readonly roomVersion: string;
  readonly eventId: string;
  readonly pdu: Pdu;
  readonly reason: string;
  readonly acceptedAt: number;
}

/** A remote event that failed the checks on receipt; recorded so it is never fetched again. */
export interface PduRejected {
  readonly type: 'pdu.rejected';
  readonly v: 1;
  readonly roomId: string;
  readonly eventId: string;
  readonly reason: string;
  readonly rejectedAt: number;
}

export type RoomRecord = PduAccepted | PduSoftFailed | PduRejected;
export type RoomRecordType = RoomRecord['type'];

export const isRoomRecord = (value: unknown): value is RoomRecord => {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as JsonObject;
  return (
    record.v === 1 &&
    (record.type === 'pdu.accepted' || record.type === 'pdu.softFailed' || record.type === 'pdu.rejected') &&
    typeof record.roomId === 'string'
  );
};
