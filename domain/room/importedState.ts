/**
 * Deciding on the room state another server gave us when we joined through it (server-server-api
 * § Joining Rooms: `send_join` answers the state before our join and its auth chain). Each event is
 * checked as on receipt — format, signatures, hashes, auth against its own auth events — oldest
 * first; what fails is left out, as Synapse does. The result is the events as outliers and the
 * state as `state.imported`; the join event itself then goes through `decideRemotePdu` like any
 * other remote event, against that state.
 */
import { checkAuthEventsList, checkAuthRules, stateLookupOf } from '../auth/index.ts';
import { hasValidContentHash, redactPdu, stateKeyOf, toRoomEvent, type RoomEvent } from '../events/index.ts';
import { createEventIdOfRoom, type RoomId } from '../ids/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import type { RoomLookups } from './commands.ts';
import type { PduOutlier, StateImported } from './records.ts';
import { diffStates, signatureProblem } from './remoteEvents.ts';
import type { RoomState } from './state.ts';

export interface ImportedStateInput {
  readonly roomId: string;
  readonly rules: RoomVersionRules;
  /** `send_join`'s `state`: the room's state before the join. */
  readonly state: readonly unknown[];
  /** `send_join`'s `auth_chain`. */
  readonly authChain: readonly unknown[];
  /** The join's `prev_events`: the imported state is the state after them. */
  readonly joinPrevEvents: readonly string[];
  readonly receivedAt: number;
}

export type ImportedStateDecision =
  | { readonly outcome: 'records'; readonly records: readonly (PduOutlier | StateImported)[]; readonly skipped: readonly string[] }
  | { readonly outcome: 'dropped'; readonly reason: string };

/** A checkable event: valid format, for this room, signed by whom it must be, hashes checked. */
const readEvent = (pdu: unknown, input: Pick<ImportedStateInput, 'roomId' | 'rules'>, lookups: RoomLookups): RoomEvent | string => {
  const parsed = toRoomEvent(pdu, input.rules);
  if (!parsed.ok) return parsed.error;
  if (parsed.value.roomId !== input.roomId) return `${parsed.value.eventId} is for another room`;
  const signature = signatureProblem(parsed.value, input.rules, lookups);
  if (signature !== undefined) return `${parsed.value.eventId}: ${signature}`;
  if (hasValidContentHash(parsed.value.pdu, input.rules)) return parsed.value;
  const redacted = toRoomEvent(redactPdu(parsed.value.pdu, input.rules.redaction), input.rules, parsed.value.eventId);
  return redacted.ok ? redacted.value : redacted.error;
};

/** Events ordered so each comes after its auth events (Kahn's algorithm, ties by depth then id). */
const authOrder = (events: ReadonlyMap<string, RoomEvent>): RoomEvent[] => {
  const waiting = new Map<string, number>();
  const dependants = new Map<string, string[]>();
  for (const event of events.values()) {
    const known = event.authEventIds.filter((id) => events.has(id));
    waiting.set(event.eventId, known.length);
    for (const id of known) dependants.set(id, [...(dependants.get(id) ?? []), event.eventId]);
  }
  const byAge = (a: RoomEvent, b: RoomEvent) => a.depth - b.depth || (a.eventId < b.eventId ? -1 : 1);
  const ready = [...events.values()].filter((event) => waiting.get(event.eventId) === 0).sort(byAge);
  const ordered: RoomEvent[] = [];
  while (ready.length > 0) {
    const next = ready.shift()!;
    ordered.push(next);
    for (const id of dependants.get(next.eventId) ?? []) {
      const left = waiting.get(id)! - 1;
      waiting.set(id, left);
      if (left === 0) {
        ready.push(events.get(id)!);
        ready.sort(byAge);
      }
    }
  }
  // Events in an auth cycle never become ready: they are left out.
  return ordered;
};

/**
 * Events another server gave us that are not (yet) in our timeline, checked as on receipt; the
 * ones that pass, and are not already known, as `pdu.outlier` records.
 */
export const decideOutliers = (
  input: Pick<ImportedStateInput, 'roomId' | 'rules' | 'receivedAt'>, pdus: readonly unknown[], lookups: RoomLookups,
): { readonly passed: ReadonlyMap<string, RoomEvent>; readonly records: readonly PduOutlier[]; readonly skipped: readonly string[] } => {
  const { rules, roomId } = input;
  const skipped: string[] = [];
  const received = new Map<string, RoomEvent>();
  for (const pdu of pdus) {
    const event = readEvent(pdu, input, lookups);
    if (typeof event === 'string') skipped.push(event);
    else received.set(event.eventId, event);
  }
  // Auth against each event's own auth events, oldest first; an event whose auth events are
  // missing or failed fails too.
  const passed = new Map<string, RoomEvent>();
  const createId = rules.eventFormat.roomIdIsCreateEventHash ? createEventIdOfRoom(roomId as RoomId) : undefined;
  for (const event of authOrder(received)) {
    const authEvents = event.authEventIds.map((id) => passed.get(id) ?? lookups.getEvent(id));
    if (authEvents.some((authEvent) => authEvent === undefined)) {
      skipped.push(`${event.eventId}: auth events missing or rejected`);
      continue;
    }
    const cited = authEvents as RoomEvent[];
    const create = createId === undefined ? undefined : passed.get(createId) ?? lookups.getEvent(createId);
    const byList = checkAuthEventsList(event, cited, rules);
    const byRules = byList.allowed ? checkAuthRules(event, stateLookupOf(create === undefined || event.eventId === createId ? cited : [...cited, create]), rules) : byList;
    if (!byRules.allowed) {
      skipped.push(`${event.eventId}: ${byRules.reason}`);
      continue;
    }
    passed.set(event.eventId, event);
  }
  const records: PduOutlier[] = [...passed.values()]
    .filter((event) => lookups.getEvent(event.eventId) === undefined)
    .map((event) => ({ type: 'pdu.outlier', v: 1, roomId, roomVersion: rules.id, eventId: event.eventId, pdu: event.pdu, receivedAt: input.receivedAt }));
  return { passed, records, skipped };
};

export const decideImportedState = (input: ImportedStateInput, current: RoomState, lookups: RoomLookups): ImportedStateDecision => {
  const { rules, roomId } = input;
  const { passed, records, skipped } = decideOutliers(input, [...input.authChain, ...input.state], lookups);
  const stateIds = new Set<string>();
  for (const pdu of input.state) {
    const parsed = toRoomEvent(pdu, rules);
    if (parsed.ok) stateIds.add(parsed.value.eventId);
  }
  const imported = new Map<string, string>();
  for (const id of stateIds) {
    const event = passed.get(id);
    if (event === undefined || event.stateKey === undefined) continue;
    const key = stateKeyOf(event.type, event.stateKey);
    if (imported.has(key)) return { outcome: 'dropped', reason: `the state lists two events for (${event.type}, ${event.stateKey})` };
    imported.set(key, id);
  }
  const createKey = stateKeyOf('m.room.create', '');
  const createId = rules.eventFormat.roomIdIsCreateEventHash ? createEventIdOfRoom(roomId as RoomId) : undefined;
  if (!imported.has(createKey)) return { outcome: 'dropped', reason: 'the state has no valid m.room.create event' };
  if (createId !== undefined && imported.get(createKey) !== createId) return { outcome: 'dropped', reason: 'the state\'s m.room.create is not the one the room id names' };

  const importedRecord: StateImported = {
    type: 'state.imported',
    v: 1,
    roomId,
    roomVersion: rules.id,
    stateDelta: diffStates(current.state, imported),
    forwardExtremities: [...input.joinPrevEvents],
    importedAt: input.receivedAt,
  };
  return { outcome: 'records', records: [...records, importedRecord], skipped };
};
