/**
 * "Plan, fetch, decide" for events from other servers: before the decider judges remote PDUs it
 * needs, synchronously, the verify keys of every server that signed them, their auth and prev
 * events, the state after each prev event and forward extremity, and — when those states differ —
 * the events state resolution reads (the conflicted events and their auth chains). This fetches
 * all that through ports; whatever is still absent makes the decider answer `missing`.
 */
import { keyRequiredValidAt } from '../../federation/index.ts';
import { roomEventOfAcceptedPdu, toRoomEvent, type Pdu, type RoomEvent, type StateMap } from '../../events/index.ts';
import { isJsonObject } from '../../json.ts';
import type { KeyRing } from '../../ports/keyRing.ts';
import type { RoomEventGraph } from '../../ports/roomEvents.ts';
import type { RoomReadModel, StoredEvent } from '../../ports/rooms.ts';
import type { RoomLookups, RoomState, VerifyKey } from '../../room/index.ts';
import type { RoomVersionRules } from '../../roomVersions/index.ts';

export interface RemoteLookupSources {
  readonly graph: RoomEventGraph;
  /** Remote servers' keys, and ours (events we created come back through other servers). */
  readonly keyRing: KeyRing;
  readonly awaitingRedactions: RoomReadModel['awaitingRedactions'];
}

/** Bounds on what one decision may fetch: a hostile event cannot make us read a whole database. */
const MAX_SIGNING_KEYS = 5_000;
/** Per event: a real event carries one or two servers' signatures, with a key or two each. */
const MAX_SIGNATURES_PER_EVENT = 10;
const MAX_AUTH_CLOSURE = 20_000;

const serverOf = (id: unknown): string | undefined => (typeof id === 'string' && id.includes(':') ? id.slice(id.indexOf(':') + 1) : undefined);

/**
 * The servers whose signatures the checks on receipt look at (domain/room/remoteEvents.ts): the
 * sender's, the event id's before v3, a restricted join's authorising server. Signatures of any
 * other server are never checked, so their keys are never fetched: a junk signature block naming
 * a server that hangs costs nothing.
 */
const requiredSigners = (pdu: Pdu): Set<string> => {
  const content = isJsonObject(pdu.content) ? pdu.content : {};
  return new Set([serverOf(pdu.sender), serverOf(pdu.event_id), serverOf(content.join_authorised_via_users_server)]
    .filter((server): server is string => server !== undefined));
};

/** The verify keys of the signatures on `pdus` the checks need, fetched in parallel. */
const verifyKeysOf = async (sources: RemoteLookupSources, pdus: readonly Pdu[], rules: RoomVersionRules): Promise<Map<string, VerifyKey>> => {
  const wanted = new Map<string, { serverName: string; keyId: string; validAt: number }>();
  for (const pdu of pdus) {
    if (!isJsonObject(pdu.signatures)) continue;
    const validAt = keyRequiredValidAt(rules, typeof pdu.origin_server_ts === 'number' ? pdu.origin_server_ts : 0);
    const signers = requiredSigners(pdu);
    for (const [serverName, keys] of Object.entries(pdu.signatures).slice(0, MAX_SIGNATURES_PER_EVENT)) {
      if (!isJsonObject(keys) || !signers.has(serverName)) continue;
      for (const keyId of Object.keys(keys).slice(0, MAX_SIGNATURES_PER_EVENT)) {
        const id = `${serverName}\u0000${keyId}`;
        const known = wanted.get(id);
        if (known === undefined && wanted.size < MAX_SIGNING_KEYS) wanted.set(id, { serverName, keyId, validAt });
        else if (known !== undefined && validAt > known.validAt) wanted.set(id, { ...known, validAt });
      }
    }
  }
  const found = new Map<string, VerifyKey>();
  await Promise.all([...wanted].map(async ([id, query]) => {
    const answer = await sources.keyRing.verifyKey(query);
    if (answer.found) found.set(id, { publicKeyBase64: answer.publicKeyBase64, validUntilTs: answer.validUntilTs });
  }));
  return found;
};

/**
 * Fetches the verify keys `pdus` need before the room's queue is entered: a signing server that
 * hangs then holds up this request alone, not every command of the room (inside the queue the key
 * ring answers from its cache, and refuses to ask a server that just failed again).
 */
export const warmVerifyKeys = async (sources: RemoteLookupSources, pdus: readonly unknown[]): Promise<void> => {
  // The strictest validity any room version asks (the event's own time), so the cache serves the queue.
  await verifyKeysOf(sources, pdus.filter(isJsonObject), { enforceKeyValidity: true } as RoomVersionRules).catch(() => undefined);
};

/**
 * Lookups for judging `pdus` (one room's, in order) on top of the writer's `state`. `stateBefore`
 * (the state before the PDU as its sender gave it, when a gap could not be closed) stands for the
 * state after each of its prev events we do not hold; its events are loaded like any other state
 * set's, or resolution would run without them.
 */
export const remoteLookups = async (
  sources: RemoteLookupSources, state: RoomState & { roomId: string; rules: RoomVersionRules }, pdus: readonly Pdu[],
  stateBefore?: StateMap,
): Promise<RoomLookups> => {
  const { rules, roomId } = state;
  const events = new Map<string, RoomEvent>();
  for (const event of state.stateEvents.values()) events.set(event.eventId, event);
  for (const event of state.outliers.values()) events.set(event.eventId, event);
  // The events being judged are not among what they may cite: an event cannot be its own auth.
  const parsed = pdus.map((pdu) => toRoomEvent(pdu, rules)).flatMap((result) => (result.ok ? [result.value] : []));

  const adopt = (stored: readonly StoredEvent[]): void => {
    for (const event of stored) {
      if (event.roomId !== roomId) continue;
      events.set(event.eventId, roomEventOfAcceptedPdu(event.pdu, rules, event.eventId));
    }
  };
  const fetchMissing = async (ids: Iterable<string>): Promise<string[]> => {
    const wanted = [...new Set(ids)].filter((id) => !events.has(id));
    if (wanted.length > 0) adopt(await sources.graph.eventsByIds(wanted));
    return wanted.filter((id) => events.has(id));
  };

  const [keys] = await Promise.all([
    verifyKeysOf(sources, pdus, rules),
    fetchMissing(parsed.flatMap((event) => [...event.authEventIds, ...event.prevEventIds])),
  ]);

  // The state after each prev event and forward extremity.
  const states = new Map<string, StateMap>(state.extremityStates);
  const stateIds = [...new Set([...parsed.flatMap((event) => event.prevEventIds), ...state.forwardExtremities])].filter((id) => !states.has(id));
  await Promise.all(stateIds.map(async (id) => {
    const after = await sources.graph.stateAfterEvent(id);
    if (after !== undefined) states.set(id, after);
  }));
  if (stateBefore !== undefined) {
    for (const id of parsed.flatMap((event) => event.prevEventIds)) if (!states.has(id)) states.set(id, stateBefore);
  }

  // Differing states: state resolution reads every state event and the full auth chains, and the
  // checks read the resolved state's events.
  const sets = [...new Set(states.values())];
  if (sets.length > 1) {
    const all = new Set(sets.flatMap((set) => [...set.values()]));
    await fetchMissing(all);
    // The auth difference compares the full auth chains of every state set: the chains of the
    // events all sets share must be loaded too, or events reachable only through them would look
    // missing from some sets and wrongly enter the conflicted set.
    let frontier = [...all];
    const seen = new Set(frontier);
    while (frontier.length > 0 && seen.size < MAX_AUTH_CLOSURE) {
      await fetchMissing(frontier);
      const next: string[] = [];
      for (const id of frontier) {
        for (const authId of events.get(id)?.authEventIds ?? []) {
          if (!seen.has(authId)) {
            seen.add(authId);
            next.push(authId);
          }
        }
      }
      frontier = next;
    }
  }

  const awaiting = await sources.awaitingRedactions(roomId, parsed.map((event) => event.eventId));
  return {
    getEvent: (id) => events.get(id),
    isRejected: () => false,
    stateAfter: (id) => states.get(id),
    verifyKey: (serverName, keyId) => keys.get(`${serverName}\u0000${keyId}`),
    awaitingRedactions: (id) => awaiting.get(id) ?? [],
  };
};
