/**
 * Whether an m.room.redaction takes effect. Decided here, once, by the decider, and written into
 * the log record (records.ts `RedactionEffect`, `redactedBy`): consumers apply the decision and
 * never judge a redaction themselves.
 *
 * - v1–v2, auth rule 11: the redaction passes auth only if "the sender's power level is greater
 *   than or equal to the redact level" or the target's event id is from the redaction's server;
 *   an accepted one then applies.
 * - Since v3 (rooms/fragments/v3-handling-redactions.md): auth accepts every redaction; it is
 *   applied only when both events are known and "the power level of the redaction event's sender
 *   is greater than or equal to the redact level" or "the domain of the redaction event's sender
 *   matches that of the original event's sender"; otherwise "the server simply waits for a valid
 *   partner event to arrive where it can then re-check".
 * - A state event of type m.room.redaction, or one without a valid `redacts` (top-level before
 *   v11, `content.redacts` since), redacts nothing: it is not a redaction in any room version.
 */
import { namedPowerLevel, powerLevelOf, redactionTakesEffect, type StateLookup } from '../auth/index.ts';
import type { RoomEvent } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import type { AwaitingRedaction, DecisionError, RoomLookups } from './commands.ts';
import type { RedactionEffect } from './records.ts';

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

/** The redact level (v1–v2 rule 11.1; since v3, condition 1 of § Handling redactions). */
const mayRedactOthers = (event: RoomEvent, state: StateLookup, rules: RoomVersionRules): boolean =>
  powerLevelOf(event.sender, state, rules) >= namedPowerLevel('redact', state, rules);

const none = (reason: string): RedactionEffect => ({ effect: 'none', reason });

/**
 * A redaction a local user asks for, after it passed the auth rules against `state` (the state
 * before it). Beyond the room version's rules, client-server-api § Redactions lets a user without
 * the redact level redact only their own events, as Synapse does; Synapse also refuses to redact
 * m.room.create, and m.room.server_acl (its redacted form allows no server at all, so the room
 * would stop federating). A local redaction that would not take effect is refused, not appended.
 */
export const judgeLocalRedaction = (
  event: RoomEvent, state: StateLookup, rules: RoomVersionRules, lookups: RoomLookups,
): { effect: RedactionEffect } | { error: DecisionError } => {
  if (event.stateKey !== undefined) return { error: { errcode: 'M_BAD_JSON', reason: 'an m.room.redaction cannot be a state event' } };
  if (event.redacts === undefined) return { error: { errcode: 'M_BAD_JSON', reason: "an m.room.redaction needs 'redacts', an event id" } };
  const target = lookups.getEvent(event.redacts);
  const powerful = mayRedactOthers(event, state, rules);
  if (target === undefined || lookups.isRejected(target.eventId)) {
    // Someone with the redact level may redact an event this server has not seen yet (it may
    // arrive over federation); anyone else may only redact their own events, which are known.
    return powerful
      ? { effect: { effect: 'awaitsTarget', target: event.redacts, senderMayRedact: true } }
      : { error: { errcode: 'M_NOT_FOUND', reason: `unknown event ${event.redacts}` } };
  }
  // Synapse: 400 "Cannot redact event from a different room" (the spec names no error); the target
  // was found, so it is the parameter that is wrong, not unknown.
  if (target.roomId !== event.roomId) return { error: { errcode: 'M_INVALID_PARAM', reason: `${event.redacts} is not an event of this room` } };
  if (target.type === 'm.room.create') return { error: { errcode: 'M_FORBIDDEN', reason: 'redacting the m.room.create event is not permitted' } };
  if (target.type === 'm.room.server_acl' && target.stateKey === '') {
    return { error: { errcode: 'M_FORBIDDEN', reason: 'redacting an m.room.server_acl event is not permitted' } };
  }
  if (!powerful && target.sender !== event.sender) return { error: { errcode: 'M_FORBIDDEN', reason: 'you may only redact your own events' } };
  return { effect: { effect: 'redacts', target: target.eventId } };
};

/**
 * A redaction from another server that was accepted against `state` (the state before it). A
 * target this server holds is judged now; an unknown one waits, with what the sender's power was.
 */
export const judgeRemoteRedaction = (
  event: RoomEvent, state: StateLookup, rules: RoomVersionRules, lookups: RoomLookups,
): RedactionEffect => {
  if (event.stateKey !== undefined) return none('a state event redacts nothing');
  if (event.redacts === undefined) return none("no valid 'redacts'");
  const target = lookups.getEvent(event.redacts);
  if (target === undefined) {
    // v1–v2: auth rule 11 already allowed it, so it applies to whatever event that id names.
    const senderMayRedact = rules.auth.redactionDomainCheckInAuth || mayRedactOthers(event, state, rules);
    return { effect: 'awaitsTarget', target: event.redacts, senderMayRedact };
  }
  if (lookups.isRejected(target.eventId)) return none('the target was rejected');
  if (target.roomId !== event.roomId) return none('the target is in another room');
  return redactionTakesEffect(event, target, state, rules)
    ? { effect: 'redacts', target: target.eventId }
    : none("the sender is below the redact level and not on the target sender's server");
};

/**
 * The redactions that waited for `event` and take effect now it arrived: those judged with
 * `senderMayRedact`, or whose sender is on the server of `event`'s sender (§ Handling redactions,
 * condition 2), and only from `event`'s room.
 */
export const redactionsTakingEffectOn = (event: RoomEvent, lookups: RoomLookups): string[] =>
  (lookups.awaitingRedactions?.(event.eventId) ?? [])
    .filter((waiting: AwaitingRedaction) => waiting.roomId === event.roomId
      && (waiting.senderMayRedact || serverOf(waiting.sender) === serverOf(event.sender)))
    .map((waiting) => waiting.eventId);
