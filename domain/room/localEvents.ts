/**
 * Deciding on events created by this server: fill prev_events (the forward extremities),
 * auth_events (auth events selection over the current state), depth, hashes and signature, then
 * run the auth rules against the current state — the state before the new event.
 */
import { authEventTuples, checkAuthRules, type StateLookup } from '../auth/index.ts';
import { canonicalJson } from '../canonicalJson.ts';
import { MatrixError } from '../errors.ts';
import { buildPdu, stateKeyOf, type RoomEvent, type SigningKey } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import type { Decision, DecisionError, LocalEventRequest, RoomLookups } from './commands.ts';
import { localPolicyProblem } from './localPolicy.ts';
import type { LocalOrigin, PduAccepted, RedactionEffect, StateChange } from './records.ts';
import { judgeLocalRedaction } from './redactions.ts';
import { evolve, type RoomState } from './state.ts';

/** Synapse cites at most 10 prev events; the format allows 20. */
const MAX_PREV_EVENTS_CITED = 10;

export const currentStateLookup = (state: RoomState, lookups: RoomLookups): StateLookup => (type, stateKey) => {
  const key = stateKeyOf(type, stateKey);
  const cached = state.stateEvents.get(key);
  if (cached !== undefined) return cached;
  const eventId = state.state.get(key);
  return eventId === undefined ? undefined : lookups.getEvent(eventId);
};

const refusal = (error: DecisionError): Decision => ({ outcome: 'refused', error });

const buildFailure = (error: unknown): DecisionError => {
  if (error instanceof MatrixError && (error.errcode === 'M_TOO_LARGE' || error.errcode === 'M_BAD_JSON')) {
    return { errcode: error.errcode, reason: error.message };
  }
  return { errcode: 'M_BAD_JSON', reason: error instanceof Error ? error.message : String(error) };
};

export interface LocalBuild {
  readonly roomId: string | undefined;
  readonly rules: RoomVersionRules;
  readonly request: LocalEventRequest;
  readonly signingKey: SigningKey;
  readonly local: LocalOrigin;
  readonly now: number;
  /** Aliases the room being created will claim (createRoom only). */
  readonly claimedAliases?: readonly string[];
  /** Answer `unchanged` for a state event identical to the current one (sendLocal; see Decision). */
  readonly deduplicateState?: boolean;
}

/**
 * The current state event `event` would repeat: same (type, state key), sender and content. The
 * event was built for this room version, so its content compares as it would be stored.
 */
const repeatedStateEvent = (event: RoomEvent, lookup: StateLookup): RoomEvent | undefined => {
  if (event.stateKey === undefined) return undefined;
  const current = lookup(event.type, event.stateKey);
  if (current === undefined || current.sender !== event.sender) return undefined;
  return canonicalJson(current.content, { strict: false }) === canonicalJson(event.content, { strict: false }) ? current : undefined;
};

/**
 * Builds, checks and records one local event on top of `state`. Returns the record and the state
 * after it, or why it may not happen.
 */
export const decideLocalEvent = (
  build: LocalBuild,
  state: RoomState,
  lookups: RoomLookups,
): { record: PduAccepted; state: RoomState } | { error: DecisionError } | { unchanged: RoomEvent } => {
  const { rules, request } = build;
  // A massaged timestamp must be what origin_server_ts may hold: a canonical JSON integer, not before 1970.
  if (request.originServerTs !== undefined && !(Number.isSafeInteger(request.originServerTs) && request.originServerTs >= 0)) {
    return { error: { errcode: 'M_INVALID_PARAM', reason: 'origin_server_ts must be a non-negative integer' } };
  }
  const lookup = currentStateLookup(state, lookups);
  if (request.ifMembershipIn !== undefined && request.type === 'm.room.member' && request.stateKey !== undefined) {
    const held = lookup('m.room.member', request.stateKey)?.content.membership;
    const current = typeof held === 'string' ? held : 'leave';
    if (!request.ifMembershipIn.includes(current)) {
      return { error: { errcode: 'M_FORBIDDEN', reason: `${request.stateKey}'s membership is ${current}, not ${request.ifMembershipIn.join(' or ')}` } };
    }
  }
  const authEventIds = authEventTuples(request, rules)
    .map(({ type, stateKey }) => state.state.get(stateKeyOf(type, stateKey)))
    .filter((id): id is string => id !== undefined);
  const prevEventIds = state.forwardExtremities.slice(-MAX_PREV_EVENTS_CITED);
  // A guest's join says so (Synapse's `kind: guest`), whichever endpoint sent it: other servers
  // and the removal of guests when guest access ends read it there.
  const guestJoin = request.type === 'm.room.member' && request.content.membership === 'join'
    && request.stateKey !== undefined && lookups.isGuest?.(request.stateKey) === true;

  let event: RoomEvent;
  try {
    event = buildPdu(
      {
        ...(build.roomId === undefined ? {} : { roomId: build.roomId }),
        sender: request.sender,
        type: request.type,
        ...(request.stateKey === undefined ? {} : { stateKey: request.stateKey }),
        content: guestJoin ? { ...request.content, kind: 'guest' } : request.content,
        originServerTs: request.originServerTs ?? build.now,
        depth: state.maxDepth + 1,
        prevEventIds,
        authEventIds,
        ...(request.redacts === undefined ? {} : { redacts: request.redacts }),
        ...(rules.eventFormat.referencesCarryHashes ? { referenceHashes: Object.fromEntries(state.referenceHashes) } : {}),
      },
      rules,
      build.signingKey,
    ).event;
  } catch (error) {
    return { error: buildFailure(error) };
  }

  const decision = checkAuthRules(event, lookup, rules);
  if (!decision.allowed) return { error: { errcode: 'M_FORBIDDEN', reason: decision.reason } };
  const aliasPointsHere = (alias: string): boolean =>
    (build.claimedAliases?.includes(alias) ?? false) || lookups.aliasRoom?.(alias) === event.roomId;
  const policy = localPolicyProblem(event, lookup, rules, {
    aliasPointsHere,
    joinedRooms: (userId) => lookups.joinedRooms?.(userId),
    blocksInvites: (userId) => lookups.blocksInvites?.(userId) === true,
    isGuest: (userId) => lookups.isGuest?.(userId) === true,
  });
  if (policy !== undefined) return { error: policy };
  // Judged after the auth rules and the local policy: "no change" is only the answer to a change
  // the sender may make, so it tells nobody more than sending would.
  const repeated = build.deduplicateState === true ? repeatedStateEvent(event, lookup) : undefined;
  if (repeated !== undefined) return { unchanged: repeated };
  let redaction: RedactionEffect | null = null;
  if (event.type === 'm.room.redaction') {
    const judged = judgeLocalRedaction(event, lookup, rules, lookups);
    if ('error' in judged) return { error: judged.error };
    redaction = judged.effect;
  }

  const stateDelta: StateChange[] =
    event.stateKey === undefined
      ? []
      : [
          {
            type: event.type,
            stateKey: event.stateKey,
            eventId: event.eventId,
            replaces: state.state.get(stateKeyOf(event.type, event.stateKey)) ?? null,
          },
        ];
  const record: PduAccepted = {
    type: 'pdu.accepted',
    v: 2,
    roomId: event.roomId,
    roomVersion: rules.id,
    eventId: event.eventId,
    pdu: event.pdu,
    stateDelta,
    prevAcceptedEventId: state.lastAcceptedEventId,
    forwardExtremities: [event.eventId],
    local: build.local,
    acceptedAt: build.now,
    redaction,
    // A local event's id did not exist before it was built: nothing can have awaited it.
    redactedBy: [],
  };
  return { record, state: evolve(state, record) };
};

/** Runs several local builds in order, all or nothing (`unchanged`: see LocalBuild.deduplicateState). */
export const decideLocalEvents = (
  builds: readonly ((state: RoomState) => LocalBuild)[],
  state: RoomState,
  lookups: RoomLookups,
): Decision => {
  const records: PduAccepted[] = [];
  let current = state;
  for (const makeBuild of builds) {
    const result = decideLocalEvent(makeBuild(current), current, lookups);
    if ('error' in result) return refusal(result.error);
    if ('unchanged' in result) return { outcome: 'unchanged', event: result.unchanged };
    records.push(result.record);
    current = result.state;
  }
  return { outcome: 'records', records };
};
