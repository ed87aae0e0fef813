/**
 * Strata's room log contract: the records appended to the room events topic, keyed by room id, so
 * one partition holds every record of a room in order. Every read model is a fold over these
 * records; a consumer must be able to rebuild its state from offset 0 using nothing else.
 *
 * Versioning: each record carries `v`. A change that a consumer could misread adds a new `v` (or a
 * new type); consumers must fail loudly on a (type, v) they do not know rather than skip it.
 *
 * History of `pdu.accepted`:
 * - v1: no redaction field; consumers judged redactions themselves (local ones applied, remote ones
 *   only from the target sender's server), which let a redaction the auth rules never judged
 *   (a *state* event of type m.room.redaction) strip another user's event.
 * - v2: the decider's judgement travels in the record (`redaction`, `redactedBy`); consumers apply
 *   exactly that and never judge. Writers only write v2. v1 records stay readable through
 *   `redactionEffectsOf`, which states precisely what a v1 record meant (see there); consumers
 *   that give redactions an effect bumped their projection version, so an existing read model is
 *   rebuilt from offset 0 under these rules (undoing what a v1 state redaction stripped).
 *   The judgement sits outside `pdu`, so it survives anything done to the PDU (sealing, redaction).
 */
import type { JsonObject } from '../json.ts';
import { roomEventOfAcceptedPdu, type Pdu } from '../events/index.ts';
import { roomVersionRules } from '../roomVersions/index.ts';

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
 * What the decider decided an accepted `m.room.redaction` does (rooms v3+ § Handling redactions;
 * v1–v2 auth rule 11). Consumers never re-judge: they apply `redacts`, remember `awaitsTarget`.
 */
export type RedactionEffect =
  /** The target is known, in this room, and is redacted now. */
  | { readonly effect: 'redacts'; readonly target: string }
  /**
   * The target is not known yet (federation). When it arrives the decider (given this redaction
   * through `RoomLookups.awaitingRedactions`) marks the target's own record `redactedBy` this
   * event if `senderMayRedact` (redact power, or auth rule 11 before v3) or the redaction's sender
   * is on the target sender's server. Consumers keep it only so it can be looked up then.
   */
  | { readonly effect: 'awaitsTarget'; readonly target: string; readonly senderMayRedact: boolean }
  /** In the timeline, redacting nothing: a state event, no valid `redacts`, a target in another room, no right. */
  | { readonly effect: 'none'; readonly reason: string };

interface AcceptedFields {
  readonly type: 'pdu.accepted';
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
 * An event joined the room DAG and its timeline. Consumers: append it to the timeline at this
 * position, apply `stateDelta` to the current state, redact `redaction.target` when
 * `redaction.effect` is 'redacts', and store this event already redacted (by the first of
 * `redactedBy`) when `redactedBy` is not empty. Nothing else about redactions: an event's type or
 * `redacts` field alone never gives it an effect.
 */
export interface PduAccepted extends AcceptedFields {
  readonly v: 2;
  /** For an event of type m.room.redaction (a state one included, whose effect is 'none'): its decided effect. Null for every other type. */
  readonly redaction: RedactionEffect | null;
  /** Earlier redactions that awaited this event and, as the decider judged on its arrival, redact it. */
  readonly redactedBy: readonly string[];
  /**
   * The state after this event, as changes to apply to the room's current state after this record
   * (`stateDelta` applied). Absent (or empty) when they are the same: every local event, and a
   * remote one that extends the room's only forward extremity. Set when the event sits on a fork:
   * the decider needs the state after each event that later events cite as `prev_events`.
   */
  readonly stateAfterDelta?: readonly StateChange[];
}

/** `pdu.accepted` as logs written before v2 hold it: read it through `redactionEffectsOf` only. */
export interface LegacyPduAccepted extends AcceptedFields {
  readonly v: 1;
}

/**
 * A remote event that passed its own auth checks but not against the room's current state
 * (server-server-api.md § Soft failure): kept in the DAG, not shown to clients, not an extremity.
 * Consumers that keep the DAG hold it like an outlier, with the state after it: a later event of
 * its sender cites it as a prev event, and its state is part of that event's.
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
  /**
   * The state after this event, as changes to the room's current state at this record (which a
   * soft-failed event does not change). Absent in records written before it was kept.
   */
  readonly stateAfterDelta?: readonly StateChange[];
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

/**
 * An event this server holds but that is not in the room's timeline: the auth chain and state of a
 * room joined through another server, an invite received for a room we are not in. Consumers keep
 * it so it can be found by id, and as state once a `stateDelta` or `state.imported` names it; it
 * never appears in a timeline and changes no state by itself.
 */
export interface PduOutlier {
  readonly type: 'pdu.outlier';
  readonly v: 1;
  readonly roomId: string;
  readonly roomVersion: string;
  readonly eventId: string;
  readonly pdu: Pdu;
  readonly receivedAt: number;
}

/**
 * The room's state as another server gave it when we joined through it (`send_join`'s `state`,
 * the state before our join), every event of it checked and already in the log as `pdu.outlier`.
 * Consumers: replace the room's current state with `state` (changes against what they held, as
 * `stateDelta` of an accepted event), and take `forwardExtremities` as the room's. No timeline event.
 */
export interface StateImported {
  readonly type: 'state.imported';
  readonly v: 1;
  readonly roomId: string;
  readonly roomVersion: string;
  /** Changes from the room's state as this server held it (nothing, for a first join) to the imported state. */
  readonly stateDelta: readonly StateChange[];
  /** The events the imported state is the state after (our join's `prev_events`). */
  readonly forwardExtremities: readonly string[];
  readonly importedAt: number;
}

/**
 * A local user's membership in a room this server does not participate in: an invite another
 * server sent through `/invite` (signed by us too), or the rejection of one, sent through
 * `send_leave`. Consumers: keep the event as an outlier, and record it as the user's membership
 * (an invite shows in their /sync with `strippedState`); the room's DAG and state are not ours to
 * change — joining the room imports them (`state.imported`).
 */
export interface MembershipOutOfBand {
  readonly type: 'membership.outOfBand';
  readonly v: 1;
  readonly roomId: string;
  readonly roomVersion: string;
  readonly eventId: string;
  readonly pdu: Pdu;
  /** `invite_room_state` as the inviting server gave it (stripped state events), for an invite. */
  readonly strippedState: readonly JsonObject[];
  readonly receivedAt: number;
}

/**
 * History from before this server joined the room, fetched from another server (§ Backfilling),
 * checked like an outlier. Consumers: put it in the room's timeline *before* everything they hold
 * (the rooms projection places it at position -(offset + 1), so later backfills go further back);
 * it changes no current state and is never news for /sync.
 */
export interface PduBackfilled {
  readonly type: 'pdu.backfilled';
  readonly v: 1;
  readonly roomId: string;
  readonly roomVersion: string;
  readonly eventId: string;
  readonly pdu: Pdu;
  readonly receivedAt: number;
}

export type RoomRecord = PduAccepted | LegacyPduAccepted | PduSoftFailed | PduRejected | PduOutlier | StateImported | MembershipOutOfBand | PduBackfilled;
export type RoomRecordType = RoomRecord['type'];
/** The records about one event (all but `state.imported`). */
export type EventRecord = Exclude<RoomRecord, StateImported | MembershipOutOfBand | PduBackfilled>;
export const isEventRecord = (record: RoomRecord): record is EventRecord => record.type !== 'state.imported' && record.type !== 'membership.outOfBand' && record.type !== 'pdu.backfilled';
/** Either version of `pdu.accepted`. */
export type AnyPduAccepted = PduAccepted | LegacyPduAccepted;

const KNOWN_VERSIONS: Readonly<Record<RoomRecordType, readonly number[]>> = {
  'pdu.accepted': [1, 2],
  'pdu.softFailed': [1],
  'pdu.rejected': [1],
  'pdu.outlier': [1],
  'state.imported': [1],
  'membership.outOfBand': [1],
  'pdu.backfilled': [1],
};

export const isRoomRecord = (value: unknown): value is RoomRecord => {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as JsonObject;
  const versions = typeof record.type === 'string' && Object.hasOwn(KNOWN_VERSIONS, record.type)
    ? KNOWN_VERSIONS[record.type as RoomRecordType] : undefined;
  if (versions === undefined || typeof record.v !== 'number' || !versions.includes(record.v) || typeof record.roomId !== 'string') return false;
  // A v2 acceptance without its redaction judgement cannot be applied as the decider meant it.
  if (record.type === 'pdu.accepted' && record.v === 2) return Array.isArray(record.redactedBy) && record.redaction !== undefined;
  return true;
};

/** What an accepted record does to other events, as every consumer must apply it. */
export interface RedactionEffects {
  /** The event this record's event redacts now, if any. */
  readonly redacts: string | undefined;
  /** The redaction that strips this record's own event as it is stored, if any. */
  readonly redactedBy: string | undefined;
  /** A redaction waiting for its target: to be kept where the writer can look it up. */
  readonly awaiting: { readonly target: string; readonly senderMayRedact: boolean } | undefined;
}

const NO_EFFECTS: RedactionEffects = { redacts: undefined, redactedBy: undefined, awaiting: undefined };

/**
 * The redaction effects of an accepted record. For v2 exactly what the decider wrote. For v1 what
 * the writers of that time meant, minus the hole v2 closes: a v1 writer only created non-state
 * redactions through /redact and /send after checking "own event or redact power", so a local,
 * non-state m.room.redaction with a `redacts` redacts it; a state event never does. No v1 writer
 * ingested remote events (there was no federation), so a remote v1 redaction is refused loudly
 * rather than guessed at.
 */
export const redactionEffectsOf = (record: AnyPduAccepted): RedactionEffects => {
  if (record.v === 2) {
    const { redaction } = record;
    return {
      redacts: redaction?.effect === 'redacts' ? redaction.target : undefined,
      redactedBy: record.redactedBy[0],
      awaiting: redaction?.effect === 'awaitsTarget' ? { target: redaction.target, senderMayRedact: redaction.senderMayRedact } : undefined,
    };
  }
  const { pdu } = record;
  if (pdu.type !== 'm.room.redaction' || typeof pdu.state_key === 'string') return NO_EFFECTS;
  if (record.local === null) {
    throw new Error(`pdu.accepted v1 ${record.eventId}: a remote redaction without the decider's judgement cannot be applied`);
  }
  const rules = roomVersionRules(record.roomVersion);
  if (rules === undefined) throw new Error(`pdu.accepted v1 ${record.eventId}: unknown room version ${record.roomVersion}`);
  // Before v11 `redacts` is top-level, since in content.
  return { ...NO_EFFECTS, redacts: roomEventOfAcceptedPdu(pdu, rules, record.eventId).redacts };
};
