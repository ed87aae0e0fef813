/**
 * Membership templates for other servers' users (server-server-api § Joining Rooms, § Leaving
 * Rooms, § Knocking: `make_join`, `make_leave`, `make_knock`): the resident server proposes the
 * event on top of the room's current state, unsigned; the remote user's server signs it and hands
 * it back through `send_*`, where it is checked like any other remote event. The proposal is
 * refused here already when the auth rules would refuse it now, as Synapse does.
 */
import { authEventTuples, checkAuthRules } from '../auth/index.ts';
import { buildPdu, pduOfProto, stateKeyOf, type Pdu, type SigningKey } from '../events/index.ts';
import type { JsonObject } from '../json.ts';
import type { DecisionError, RoomLookups } from './commands.ts';
import { currentStateLookup } from './localEvents.ts';
import { isCreated, type RoomState } from './state.ts';

export interface MembershipTemplateRequest {
  readonly userId: string;
  readonly membership: 'join' | 'leave' | 'knock';
  readonly content?: JsonObject;
  readonly now: number;
  /** Signs the trial event the auth rules are run on; the template itself goes out unsigned. */
  readonly signingKey: SigningKey;
}

/** Synapse cites at most 10 prev events. */
const MAX_PREV_EVENTS = 10;

export const membershipTemplate = (
  state: RoomState, lookups: RoomLookups, request: MembershipTemplateRequest,
): { readonly ok: true; readonly template: Pdu } | { readonly ok: false; readonly error: DecisionError } => {
  if (!isCreated(state)) return { ok: false, error: { errcode: 'M_NOT_FOUND', reason: 'unknown room' } };
  const { rules } = state;
  const content = { ...request.content, membership: request.membership };
  const proto = {
    roomId: state.roomId,
    sender: request.userId,
    type: 'm.room.member',
    stateKey: request.userId,
    content,
    originServerTs: request.now,
    depth: state.maxDepth + 1,
    prevEventIds: state.forwardExtremities.slice(-MAX_PREV_EVENTS),
    // The content counts: a restricted join cites its authoriser's member event.
    authEventIds: authEventTuples({ type: 'm.room.member', stateKey: request.userId, sender: request.userId, content }, rules)
      .map(({ type, stateKey }) => state.state.get(stateKeyOf(type, stateKey)))
      .filter((id): id is string => id !== undefined),
    ...(rules.eventFormat.referencesCarryHashes ? { referenceHashes: Object.fromEntries(state.referenceHashes) } : {}),
  };
  let trial;
  try {
    trial = buildPdu(proto, rules, request.signingKey).event;
  } catch (error) {
    return { ok: false, error: { errcode: 'M_BAD_JSON', reason: error instanceof Error ? error.message : String(error) } };
  }
  const decision = checkAuthRules(trial, currentStateLookup(state, lookups), rules);
  if (!decision.allowed) return { ok: false, error: { errcode: 'M_FORBIDDEN', reason: decision.reason } };
  return { ok: true, template: pduOfProto(proto, rules) };
};
