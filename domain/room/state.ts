/**
 * The writer's model of one room: what `decide` needs to build and check the next event. It is a
 * fold of the room's log records (`evolve`), so a writer rebuilds it by replaying the partition.
 */
import type { RoomEvent, StateMap } from '../events/index.ts';
import { redactPdu, referenceHashBase64, roomEventOfAcceptedPdu, stateKeyOf } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { roomVersionRules } from '../roomVersions/index.ts';
import { redactionEffectsOf, type RoomRecord, type StateChange, type StateImported } from './records.ts';

export interface RoomState {
  readonly roomId: string | null;
  readonly rules: RoomVersionRules | null;
  /** Current state: (type, state_key) → event id. */
  readonly state: StateMap;
  /** Events of the current state known to the writer (a cache: decide falls back to lookups). */
  readonly stateEvents: ReadonlyMap<string, RoomEvent>;
  readonly forwardExtremities: readonly string[];
  /** The greatest depth among accepted events; a new local event goes one deeper. */
  readonly maxDepth: number;
  readonly lastAcceptedEventId: string | null;
  /** v1–v2 only: reference hashes of current state events and extremities, which new events cite. */
  readonly referenceHashes: ReadonlyMap<string, string>;
  /**
   * The state after each forward extremity the log told us of (records.ts `stateAfterDelta`,
   * `state.imported`): what a remote event citing it as a prev event is checked against. An
   * extremity missing here (a room loaded from a snapshot) is looked up in the read model.
   */
  readonly extremityStates: ReadonlyMap<string, StateMap>;
  /** Outliers seen since the last state change: what a following `state.imported` takes its state events from. */
  readonly outliers: ReadonlyMap<string, RoomEvent>;
}

export const initialRoomState: RoomState = {
  roomId: null,
  rules: null,
  state: new Map(),
  stateEvents: new Map(),
  forwardExtremities: [],
  maxDepth: 0,
  lastAcceptedEventId: null,
  referenceHashes: new Map(),
  extremityStates: new Map(),
  outliers: new Map(),
};

export const isCreated = (state: RoomState): state is RoomState & { roomId: string; rules: RoomVersionRules } =>
  state.roomId !== null && state.rules !== null;

/** The rules a create event announces: `room_version` defaults to "1" (rooms/v1.md). */
export const rulesOfCreateContent = (content: unknown): RoomVersionRules | undefined => {
  const version = typeof content === 'object' && content !== null ? (content as Record<string, unknown>).room_version : undefined;
  if (version === undefined) return roomVersionRules('1');
  return typeof version === 'string' ? roomVersionRules(version) : undefined;
};

const redacted = (event: RoomEvent, rules: RoomVersionRules): RoomEvent =>
  roomEventOfAcceptedPdu(redactPdu(event.pdu, rules.redaction), rules, event.eventId);

/**
 * Auth must see a redacted current state event in its redacted form (e.g. a redacted
 * m.room.join_rules keeps only `join_rule`): applies the redaction the record says happened.
 */
const withRedactedStateEvent = (state: RoomState, target: string, rules: RoomVersionRules): RoomState => {
  for (const [key, event] of state.stateEvents) {
    if (event.eventId !== target) continue;
    const stateEvents = new Map(state.stateEvents);
    stateEvents.set(key, redacted(event, rules));
    return { ...state, stateEvents };
  }
  return state;
};

/** Applies state changes to a state map (a null event id removes the key). */
export const applyStateChanges = (state: StateMap, changes: readonly StateChange[]): StateMap => {
  if (changes.length === 0) return state;
  const next = new Map(state);
  for (const change of changes) {
    const key = stateKeyOf(change.type, change.stateKey);
    if (change.eventId === null) next.delete(key);
    else next.set(key, change.eventId);
  }
  return next;
};

/** A room joined through another server: its state replaced by the one imported (records.ts). */
const evolveImported = (state: RoomState, record: StateImported): RoomState => {
  const rules = state.rules ?? roomVersionRules(record.roomVersion);
  if (rules === undefined) return state;
  const nextState = applyStateChanges(state.state, record.stateDelta);
  const stateEvents = new Map<string, RoomEvent>();
  const known = new Map([...state.stateEvents.values()].map((event) => [event.eventId, event]));
  for (const [key, eventId] of nextState) {
    const event = state.outliers.get(eventId) ?? known.get(eventId);
    if (event !== undefined) stateEvents.set(key, event);
  }
  let maxDepth = state.maxDepth;
  for (const event of stateEvents.values()) maxDepth = Math.max(maxDepth, event.depth);
  const referenceHashes = new Map(state.referenceHashes);
  if (rules.eventFormat.referencesCarryHashes) {
    for (const event of state.outliers.values()) referenceHashes.set(event.eventId, referenceHashBase64(event.pdu, rules));
  }
  return {
    ...state,
    roomId: record.roomId,
    rules,
    state: nextState,
    stateEvents,
    forwardExtremities: record.forwardExtremities,
    maxDepth,
    referenceHashes,
    extremityStates: new Map(record.forwardExtremities.map((id) => [id, nextState])),
    outliers: new Map(),
  };
};

/** Folds one record into the room state. Unknown or foreign records leave it unchanged. */
export const evolve = (state: RoomState, record: RoomRecord): RoomState => {
  if (record.type === 'pdu.outlier') {
    const rules = state.rules ?? roomVersionRules(record.roomVersion);
    if (rules === undefined) return state;
    const outliers = new Map(state.outliers);
    outliers.set(record.eventId, roomEventOfAcceptedPdu(record.pdu, rules, record.eventId));
    return { ...state, outliers };
  }
  if (record.type === 'state.imported') return evolveImported(state, record);
  if (record.type !== 'pdu.accepted') return state;
  const rules = state.rules ?? roomVersionRules(record.roomVersion);
  if (rules === undefined) return state;
  // An accepted record was validated when it was accepted: read, not checked again.
  const accepted = roomEventOfAcceptedPdu(record.pdu, rules, record.eventId);
  // Redactions act only as the decider wrote them into the record (records.ts).
  const effects = redactionEffectsOf(record);
  const event = effects.redactedBy === undefined ? accepted : redacted(accepted, rules);

  // Most events change no state: the maps are shared then, so a message costs the same in a room
  // of ten members and in one of ten thousand.
  let nextState = state.state;
  let nextEvents = state.stateEvents;
  if (record.stateDelta.length > 0) {
    const changedState = new Map(state.state);
    const changedEvents = new Map(state.stateEvents);
    for (const change of record.stateDelta) {
      const key = stateKeyOf(change.type, change.stateKey);
      if (change.eventId === null) changedState.delete(key);
      else changedState.set(key, change.eventId);
      const known = change.eventId === null ? undefined : change.eventId === event.eventId ? event : state.outliers.get(change.eventId);
      if (known !== undefined) changedEvents.set(key, known);
      else changedEvents.delete(key);
    }
    nextState = changedState;
    nextEvents = changedEvents;
  }

  let referenceHashes = state.referenceHashes;
  if (rules.eventFormat.referencesCarryHashes) {
    const keep = new Set([...nextState.values(), ...record.forwardExtremities]);
    const next = new Map([...state.referenceHashes].filter(([id]) => keep.has(id)));
    next.set(event.eventId, referenceHashBase64(record.pdu, rules));
    referenceHashes = next;
  }

  // The state after each extremity: this event's is the new current state unless the record says
  // otherwise (a fork); the others' carry over.
  const stateAfterDelta = record.v === 2 ? record.stateAfterDelta ?? [] : [];
  const extremityStates = new Map<string, StateMap>();
  for (const id of record.forwardExtremities) {
    const known = id === event.eventId ? applyStateChanges(nextState, stateAfterDelta) : state.extremityStates.get(id);
    if (known !== undefined) extremityStates.set(id, known);
  }

  const next: RoomState = {
    roomId: record.roomId,
    rules,
    state: nextState,
    stateEvents: nextEvents,
    forwardExtremities: record.forwardExtremities,
    maxDepth: Math.max(state.maxDepth, event.depth),
    lastAcceptedEventId: event.eventId,
    referenceHashes,
    extremityStates,
    outliers: state.outliers.size === 0 ? state.outliers : new Map(),
  };
  return effects.redacts === undefined ? next : withRedactedStateEvent(next, effects.redacts, rules);
};
