/**
 * Deciding on a PDU from another server, in the order of server-server-api.md § Checks performed
 * on receipt of a PDU: format, signatures, hashes (redact on mismatch), auth against its auth
 * events, auth against the state before it, and soft failure against the room's current state.
 */
import { authorisingServerOf, checkAuthEventsList, checkAuthRules, stateLookupOf, type StateLookup } from '../auth/index.ts';
import {
  hasValidContentHash,
  redactPdu,
  serversRequiredToSign,
  signaturesFrom,
  stateKeyOf,
  toRoomEvent,
  verifyEventSignature,
  type Pdu,
  type RoomEvent,
  type StateMap,
} from '../events/index.ts';
import { createEventIdOfRoom, type RoomId } from '../ids/index.ts';
import { isJsonObject } from '../json.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { resolveState } from '../stateRes/index.ts';
import type { Decision, RoomLookups } from './commands.ts';
import type { StateChange } from './records.ts';
import { judgeRemoteRedaction, redactionsTakingEffectOn } from './redactions.ts';
import type { RoomState } from './state.ts';

const lookupOfMap = (state: StateMap, lookups: RoomLookups): StateLookup => (type, stateKey) => {
  const id = state.get(stateKeyOf(type, stateKey));
  return id === undefined ? undefined : lookups.getEvent(id);
};

/** 2. "Passes signature checks, otherwise it is dropped." */
export const signatureProblem = (event: RoomEvent, rules: RoomVersionRules, lookups: RoomLookups): string | undefined => {
  // Since v8, a restricted join must also be signed by the server of the authorising user.
  const authorising = authorisingServerOf(event, rules);
  const servers = new Set(serversRequiredToSign(event.sender, event.eventId, rules));
  if (authorising !== undefined) servers.add(authorising);
  for (const server of servers) {
    const signatures = signaturesFrom(event.pdu, server);
    let verified = false;
    for (const [keyId] of signatures) {
      const key = lookups.verifyKey(server, keyId);
      if (key === undefined) continue;
      // Since v5: "the signing key must be valid at origin_server_ts".
      if (rules.enforceKeyValidity && key.validUntilTs < event.originServerTs) continue;
      if (verifyEventSignature(event.pdu, rules, server, keyId, key.publicKeyBase64)) {
        verified = true;
        break;
      }
    }
    if (!verified) return `no valid signature from ${server}`;
  }
  return undefined;
};

export const diffStates = (before: StateMap, after: StateMap): StateChange[] => {
  const changes: StateChange[] = [];
  for (const [key, eventId] of after) {
    const previous = before.get(key) ?? null;
    if (previous !== eventId) {
      const at = key.indexOf('\u0000');
      changes.push({ type: key.slice(0, at), stateKey: key.slice(at + 1), eventId, replaces: previous });
    }
  }
  for (const [key, previous] of before) {
    if (!after.has(key)) {
      const at = key.indexOf('\u0000');
      changes.push({ type: key.slice(0, at), stateKey: key.slice(at + 1), eventId: null, replaces: previous });
    }
  }
  return changes;
};

/**
 * The ids of differing state sets that `getEvent` cannot load. State resolution leaves such events
 * out of the conflicted set without a word, so resolving with any would give a state other servers
 * do not reach: the decision waits for them instead (`missing`).
 */
const unloadableStateEvents = (stateSets: readonly StateMap[], getEvent: RoomLookups['getEvent']): string[] => {
  const [first, ...rest] = stateSets;
  const sameAsFirst = (set: StateMap): boolean => set.size === first!.size && [...set].every(([key, id]) => first!.get(key) === id);
  if (first === undefined || rest.every(sameAsFirst)) return [];
  const ids = new Set(stateSets.flatMap((set) => [...set.values()]));
  return [...ids].filter((id) => getEvent(id) === undefined);
};

export const decideRemotePdu = (
  received: Pdu,
  receivedAt: number,
  state: RoomState & { roomId: string; rules: RoomVersionRules },
  lookups: RoomLookups,
): Decision => {
  const { rules, roomId } = state;
  const stateAfterOf = (id: string): StateMap | undefined => state.extremityStates.get(id) ?? lookups.stateAfter(id);
  // 1. "Is a valid event, otherwise it is dropped."
  const parsed = toRoomEvent(received, rules);
  if (!parsed.ok) return { outcome: 'dropped', reason: parsed.error };
  if (parsed.value.roomId !== roomId) return { outcome: 'dropped', reason: `event is for ${parsed.value.roomId}, not ${roomId}` };
  const signatureIssue = signatureProblem(parsed.value, rules, lookups);
  if (signatureIssue !== undefined) return { outcome: 'dropped', reason: signatureIssue };

  // 3. "Passes hash checks, otherwise it is redacted before being processed further."
  let event = parsed.value;
  if (!hasValidContentHash(received, rules)) {
    const redacted = toRoomEvent(redactPdu(received, rules.redaction), rules, event.eventId);
    if (!redacted.ok) return { outcome: 'dropped', reason: redacted.error };
    event = redacted.value;
  }
  const reject = (reason: string): Decision => ({
    outcome: 'records',
    records: [{ type: 'pdu.rejected', v: 1, roomId, eventId: event.eventId, reason, rejectedAt: receivedAt }],
  });

  // A room has one m.room.create: the one every other event's auth chain cites (since v12 the one
  // its id names, so another is dropped above as being for another room). Auth rule 1 judges a
  // create event on its own, so without this a second one (no prev_events) would pass every check
  // and could enter the room's state.
  if (event.type === 'm.room.create' && state.state.has(stateKeyOf('m.room.create', '')) && state.state.get(stateKeyOf('m.room.create', '')) !== event.eventId) {
    return reject('the room already has an m.room.create event');
  }

  // 4. "Passes authorization rules based on the event's auth events, otherwise it is rejected."
  const missingAuth = event.authEventIds.filter((id) => lookups.getEvent(id) === undefined);
  if (missingAuth.length > 0) return { outcome: 'missing', eventIds: missingAuth };
  const authEvents = event.authEventIds.map((id) => lookups.getEvent(id) as RoomEvent);
  const rejectedAuth = authEvents.find((authEvent) => lookups.isRejected(authEvent.eventId));
  if (rejectedAuth !== undefined) return reject(`auth event ${rejectedAuth.eventId} was rejected`);
  const listDecision = checkAuthEventsList(event, authEvents, rules);
  if (!listDecision.allowed) return reject(listDecision.reason);
  // Since v12 the create event is implied by the room id rather than cited.
  const createId = rules.eventFormat.roomIdIsCreateEventHash ? createEventIdOfRoom(roomId as RoomId) : undefined;
  const create = createId === undefined ? undefined : lookups.getEvent(createId);
  const byAuthEvents = checkAuthRules(event, stateLookupOf(create === undefined ? authEvents : [...authEvents, create]), rules);
  if (!byAuthEvents.allowed) return reject(byAuthEvents.reason);

  // 5. "Passes authorization rules based on the state before the event, otherwise it is rejected."
  const missingState = event.prevEventIds.filter((id) => stateAfterOf(id) === undefined);
  if (missingState.length > 0) return { outcome: 'missing', eventIds: missingState };
  const prevStates = event.prevEventIds.map((id) => stateAfterOf(id) as StateMap);
  const unloadableBefore = unloadableStateEvents(prevStates, lookups.getEvent);
  if (unloadableBefore.length > 0) return { outcome: 'missing', eventIds: unloadableBefore };
  const stateBefore = resolveState({ stateSets: prevStates, getEvent: lookups.getEvent, isRejected: lookups.isRejected }, rules);
  const byStateBefore = checkAuthRules(event, lookupOfMap(stateBefore, lookups), rules);
  if (!byStateBefore.allowed) return reject(byStateBefore.reason);

  // 6. "Passes authorization rules based on the current state of the room, otherwise it is soft failed."
  const current: StateLookup = (type, stateKey) => {
    const key = stateKeyOf(type, stateKey);
    return state.stateEvents.get(key) ?? lookupOfMap(state.state, lookups)(type, stateKey);
  };
  const stateAfterEvent = new Map(stateBefore);
  if (event.stateKey !== undefined) stateAfterEvent.set(stateKeyOf(event.type, event.stateKey), event.eventId);
  const byCurrent = checkAuthRules(event, current, rules);
  if (!byCurrent.allowed) {
    return {
      outcome: 'records',
      records: [{
        type: 'pdu.softFailed', v: 1, roomId, roomVersion: rules.id, eventId: event.eventId, pdu: event.pdu, reason: byCurrent.reason, acceptedAt: receivedAt,
        // Its sender's later events cite it: the state after it must be known then, as for any event.
        stateAfterDelta: diffStates(state.state, stateAfterEvent),
      }],
    };
  }

  // Accepted: the new current state resolves the states at the new forward extremities.
  const cited = new Set(event.prevEventIds);
  const otherExtremities = state.forwardExtremities.filter((id) => !cited.has(id) && id !== event.eventId);
  const missingExtremityState = otherExtremities.filter((id) => stateAfterOf(id) === undefined);
  if (missingExtremityState.length > 0) return { outcome: 'missing', eventIds: missingExtremityState };
  // The event itself is in the state after it: resolution must be able to read it (an event it
  // cannot load it leaves out of the conflicted set, and the new state event would be lost).
  const withEvent = (id: string) => (id === event.eventId ? event : lookups.getEvent(id));
  const extremityStates = [...otherExtremities.map((id) => stateAfterOf(id) as StateMap), stateAfterEvent];
  const unloadableAfter = unloadableStateEvents(extremityStates, withEvent);
  if (unloadableAfter.length > 0) return { outcome: 'missing', eventIds: unloadableAfter };
  const newCurrent = otherExtremities.length === 0 ? stateAfterEvent
    : resolveState({ stateSets: extremityStates, getEvent: withEvent, isRejected: lookups.isRejected }, rules);
  const stateAfterDelta = diffStates(newCurrent, stateAfterEvent);
  const redaction = event.type === 'm.room.redaction' ? judgeRemoteRedaction(event, lookupOfMap(stateBefore, lookups), rules, lookups) : null;
  return {
    outcome: 'records',
    records: [
      {
        type: 'pdu.accepted',
        v: 2,
        roomId,
        roomVersion: rules.id,
        eventId: event.eventId,
        pdu: event.pdu,
        stateDelta: diffStates(state.state, newCurrent),
        prevAcceptedEventId: state.lastAcceptedEventId,
        forwardExtremities: [...otherExtremities, event.eventId],
        local: null,
        acceptedAt: receivedAt,
        redaction,
        redactedBy: redactionsTakingEffectOn(event, lookups),
        ...(stateAfterDelta.length === 0 ? {} : { stateAfterDelta }),
      },
    ],
  };
};

/** The PDU a remote server sent, when it is at least an object (anything else is dropped early). */
export const isPduObject = (value: unknown): value is Pdu => isJsonObject(value);
