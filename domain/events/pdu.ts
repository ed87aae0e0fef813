import type { JsonObject } from '../json.ts';

/**
 * A PDU as it travels between servers and is stored in the log: the signed, hashed JSON object.
 * Its exact shape depends on the room version (see RoomVersionRules.eventFormat); fields are read
 * through `toRoomEvent`, never directly by auth or state resolution.
 */
export type Pdu = JsonObject;

/**
 * A PDU read through its room version's format: ids resolved, references flattened to event ids.
 * Auth rules, state resolution and the decider work on this view.
 */
export interface RoomEvent {
  readonly eventId: string;
  readonly roomId: string;
  readonly type: string;
  /** Present exactly when the event is a state event (an empty string is a valid state key). */
  readonly stateKey: string | undefined;
  readonly sender: string;
  readonly content: JsonObject;
  readonly originServerTs: number;
  readonly depth: number;
  readonly prevEventIds: readonly string[];
  readonly authEventIds: readonly string[];
  /** The redacted event id of an `m.room.redaction` (top-level before v11, in content since). */
  readonly redacts: string | undefined;
  /** The wire JSON, signed and hashed. */
  readonly pdu: Pdu;
}

/** A state map key: event type and state key. */
export interface StateTuple {
  readonly type: string;
  readonly stateKey: string;
}

/** Encodes (type, state_key) as one string for use as a Map key. */
export const stateKeyOf = (type: string, stateKey: string): string => `${type}\u0000${stateKey}`;

export const stateTupleOf = (key: string): StateTuple => {
  const at = key.indexOf('\u0000');
  return { type: key.slice(0, at), stateKey: key.slice(at + 1) };
};

/** Room state as (type, state_key) → event id. */
export type StateMap = ReadonlyMap<string, string>;
