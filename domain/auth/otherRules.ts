import type { RoomEvent } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { ALLOW, deny } from './decision.ts';
import type { AuthDecision, StateLookup } from './decision.ts';
import { domainOf } from './content.ts';
import { namedPowerLevel, powerLevelOf } from './powerLevels.ts';

/**
 * v1–v5, rule 4: m.room.aliases. "If event has no state_key, reject. If sender's domain doesn't
 * match state_key, reject. Otherwise, allow." Since v6 the rule is gone and aliases events pass
 * the rules of any other state event.
 */
export const checkAliasesEvent = (event: RoomEvent): AuthDecision => {
  if (event.stateKey === undefined) return deny('m.room.aliases must have a state_key');
  if (domainOf(event.sender) !== event.stateKey) return deny("m.room.aliases: the state_key is not the sender's domain");
  return ALLOW;
};

/**
 * Rule 7 (v12 numbering): m.room.third_party_invite. "Allow if and only if sender's current power
 * level is greater than or equal to the invite level."
 */
export const checkThirdPartyInviteEvent = (event: RoomEvent, state: StateLookup, rules: RoomVersionRules): AuthDecision =>
  powerLevelOf(event.sender, state, rules) >= namedPowerLevel('invite', state, rules)
    ? ALLOW
    : deny('m.room.third_party_invite: the sender is below the invite level');

/**
 * v1–v2, rule 11: m.room.redaction. "If the sender's power level is greater than or equal to the
 * redact level, allow. If the domain of the event_id of the event being redacted is the same as
 * the domain of the event_id of the m.room.redaction, allow. Otherwise, reject." Since v3 auth no
 * longer looks at redactions specially (rooms/fragments/v3-handling-redactions.md): whether one is
 * applied is decided when both events are known — see `redactionTakesEffect`.
 */
export const checkRedactionEventV1 = (event: RoomEvent, state: StateLookup, rules: RoomVersionRules): AuthDecision => {
  if (powerLevelOf(event.sender, state, rules) >= namedPowerLevel('redact', state, rules)) return ALLOW;
  const redactedDomain = event.redacts === undefined ? undefined : domainOf(event.redacts);
  if (redactedDomain !== undefined && redactedDomain === domainOf(event.eventId)) return ALLOW;
  return deny('redaction: the sender is below the redact level and the redacted event is from another server');
};

/**
 * Since v3 (rooms/fragments/v3-handling-redactions.md): a redaction that passed auth is applied to
 * `redacted` when "the power level of the redaction event's sender is greater than or equal to the
 * redact level" or "the domain of the redaction event's sender matches that of the original
 * event's sender". `state` is the state before the redaction. Before v3 auth already decided.
 * The room decider applies it (domain/room/redactions.ts) and writes the outcome into the log.
 */
export const redactionTakesEffect = (
  redaction: RoomEvent,
  redacted: RoomEvent,
  state: StateLookup,
  rules: RoomVersionRules,
): boolean => {
  if (rules.auth.redactionDomainCheckInAuth) return true;
  if (powerLevelOf(redaction.sender, state, rules) >= namedPowerLevel('redact', state, rules)) return true;
  const domain = domainOf(redaction.sender);
  return domain !== undefined && domain === domainOf(redacted.sender);
};
