import type { RoomEvent } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { ALLOW, deny } from './decision.ts';
import type { AuthDecision, StateLookup } from './decision.ts';
import { createEventOf, domainOf, membershipOf, ownField } from './content.ts';
import { checkCreateEvent } from './createRules.ts';
import { checkMemberEvent } from './memberRules.ts';
import { checkPowerLevelsEvent } from './powerLevelsRules.ts';
import { checkAliasesEvent, checkRedactionEventV1, checkThirdPartyInviteEvent } from './otherRules.ts';
import { powerLevelOf, requiredPowerForEvent } from './powerLevels.ts';

/**
 * The authorisation rules of the room version (rooms/fragments/v1-auth-rules.md, v3-, v8-, and the
 * rules inlined in rooms/v6.md, v7.md, v10.md, v11.md, v12.md), checking `event` against `state`:
 * the state before it, or the state its auth events describe. Rule numbers follow v12 (v1–v11
 * lack rule 2, v1–v5 have the aliases rule 4, v1–v2 the redaction rule 11). The auth_events list
 * itself is checked by `checkAuthEventsList`. Never throws: malformed events are denied.
 */
export const checkAuthRules = (event: RoomEvent, state: StateLookup, rules: RoomVersionRules): AuthDecision => {
  try {
    return check(event, state, rules);
  } catch (error) {
    // Defensive: the readers are type-checked, but a throw must never abort the caller's loop.
    return deny(`auth check failed: ${error instanceof Error ? error.message : String(error)}`);
  }
};

const check = (event: RoomEvent, state: StateLookup, rules: RoomVersionRules): AuthDecision => {
  // 1: "If type is m.room.create: …"
  if (event.type === 'm.room.create') return checkCreateEvent(event, rules);

  const create = createEventOf(state);
  if (create === undefined) return deny('the room state has no m.room.create event');
  // Since v12, 2: "If the event's room_id is not an event ID for an accepted (not rejected)
  // m.room.create event, with the sigil ! instead of $, reject." (Whether it was accepted is the
  // caller's knowledge: state only holds accepted events.)
  if (rules.eventFormat.roomIdIsCreateEventHash && event.roomId !== `!${create.eventId.slice(1)}`) {
    return deny("the room_id is not the m.room.create event's id");
  }

  // 4 (3 before v12): "If the content of the m.room.create event in the room state has the property
  // m.federate set to false, and the sender domain of the event does not match the sender domain
  // of the create event, reject."
  if (ownField(create.content, 'm.federate') === false && domainOf(event.sender) !== domainOf(create.sender)) {
    return deny('the room does not federate (m.federate is false)');
  }

  // v1–v5, 4: m.room.aliases has its own rule.
  if (event.type === 'm.room.aliases' && rules.auth.specialCaseAliasesEvent) return checkAliasesEvent(event);

  // 5: "If type is m.room.member: …"
  if (event.type === 'm.room.member') return checkMemberEvent(event, state, rules);

  // 6: "If the sender's current membership state is not join, reject."
  if (membershipOf(event.sender, state) !== 'join') return deny('the sender is not joined to the room');

  // 7: "If type is m.room.third_party_invite: allow if and only if sender's current power level is
  // greater than or equal to the invite level."
  if (event.type === 'm.room.third_party_invite') return checkThirdPartyInviteEvent(event, state, rules);

  // 8: "If the event type's required power level is greater than the sender's power level, reject."
  const isState = event.stateKey !== undefined;
  const required = requiredPowerForEvent(event.type, isState, state, rules);
  const senderPower = powerLevelOf(event.sender, state, rules);
  if (required > senderPower) {
    return deny(`sending ${event.type} needs power level ${required}; the sender has ${senderPower}`);
  }

  // 9: "If the event has a state_key that starts with an @ and does not match the sender, reject."
  if (event.stateKey !== undefined && event.stateKey.startsWith('@') && event.stateKey !== event.sender) {
    return deny('a state_key starting with @ must be the sender');
  }

  // 10: "If type is m.room.power_levels: …"
  if (event.type === 'm.room.power_levels') return checkPowerLevelsEvent(event, state, rules);

  // v1–v2, 11: "If type is m.room.redaction: …"
  if (event.type === 'm.room.redaction' && rules.auth.redactionDomainCheckInAuth) {
    return checkRedactionEventV1(event, state, rules);
  }

  // 11: "Otherwise, allow."
  return ALLOW;
};
