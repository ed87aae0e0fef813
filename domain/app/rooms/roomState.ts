/** Building the writer's RoomState from a read-model snapshot (redacted events are stored redacted there). */
import { referenceHashBase64, roomEventOfAcceptedPdu, stateKeyOf, type RoomEvent } from '../../events/index.ts';
import { roomVersionRules } from '../../roomVersions/index.ts';
import type { RoomState } from '../../room/index.ts';
import type { RoomSnapshot } from '../../ports/rooms.ts';

export const roomStateOfSnapshot = (snapshot: RoomSnapshot): RoomState => {
  const rules = roomVersionRules(snapshot.roomVersion);
  if (rules === undefined) throw new Error(`room ${snapshot.roomId} has unknown version ${snapshot.roomVersion}`);
  const pdus = new Map(snapshot.events.map((event) => [event.eventId, event.pdu]));
  const state = new Map<string, string>();
  const stateEvents = new Map<string, RoomEvent>();
  for (const entry of snapshot.state) {
    const key = stateKeyOf(entry.type, entry.stateKey);
    state.set(key, entry.eventId);
    const pdu = pdus.get(entry.eventId);
    // The read model holds accepted events (validated then): read, not checked again.
    if (pdu !== undefined) stateEvents.set(key, roomEventOfAcceptedPdu(pdu, rules, entry.eventId));
  }
  // v1–v2 events cite the reference hashes of their prev and auth events.
  const referenceHashes = new Map<string, string>();
  if (rules.eventFormat.referencesCarryHashes) {
    for (const [eventId, pdu] of pdus) referenceHashes.set(eventId, referenceHashBase64(pdu, rules));
  }
  return {
    roomId: snapshot.roomId,
    rules,
    state,
    stateEvents,
    forwardExtremities: snapshot.forwardExtremities,
    maxDepth: snapshot.maxDepth,
    lastAcceptedEventId: snapshot.lastEventId,
    referenceHashes,
    // With one extremity the current state is the state after it; with more, each is read when needed.
    extremityStates: snapshot.forwardExtremities.length === 1 ? new Map([[snapshot.forwardExtremities[0]!, state]]) : new Map(),
    outliers: new Map(),
  };
};
