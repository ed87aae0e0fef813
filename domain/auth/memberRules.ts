import type { RoomEvent } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { ALLOW, deny } from './decision.ts';
import type { AuthDecision, StateLookup } from './decision.ts';
import { createEventOf, hasOwnField, joinRuleOf, membershipOf, stringField } from './content.ts';
import { namedPowerLevel, powerLevelOf } from './powerLevels.ts';
import { checkThirdPartyInvite } from './thirdPartyInvite.ts';

/*
 * Rule 5 (v12 numbering; rule 4 in v3–v11, rule 5 in v1–v2): m.room.member events. Rule numbers
 * below follow v12; the text is the same in every version unless marked "Since vN".
 */

export const checkMemberEvent = (event: RoomEvent, state: StateLookup, rules: RoomVersionRules): AuthDecision => {
  // 5.1: "If there is no state_key property, or no membership property in content, reject."
  const target = event.stateKey;
  const membership = stringField(event.content, 'membership');
  if (target === undefined) return deny('m.room.member must have a state_key');
  if (membership === undefined) return deny('m.room.member content has no (string) membership');

  // Since v8, 5.2: "If content has a join_authorised_via_users_server key: if the event is not
  // validly signed by the homeserver of the user ID denoted by the key, reject." Signatures are
  // checked with the server's keys before auth (checks on receipt, step 2); `authorisingServerOf`
  // names the extra server whose signature that step must require.

  switch (membership) {
    case 'join':
      return checkJoin(event, target, state, rules);
    case 'invite':
      return checkInvite(event, target, state, rules);
    case 'leave':
      return checkLeave(event, target, state, rules);
    case 'ban':
      return checkBan(event, target, state, rules);
    case 'knock':
      // Since v7: knocking. Before, "knock" is an unknown membership.
      if (rules.auth.knocking) return checkKnock(event, target, state, rules);
      return deny('knock membership is not supported by this room version');
    default:
      // 5.8: "Otherwise, the membership is unknown. Reject."
      return deny(`unknown membership ${JSON.stringify(membership)}`);
  }
};

/**
 * Since v8: the server whose signature a join must also carry — the server of
 * `content.join_authorised_via_users_server` — or undefined.
 */
export const authorisingServerOf = (event: RoomEvent, rules: RoomVersionRules): string | undefined => {
  if (!rules.auth.restrictedJoins || event.type !== 'm.room.member') return undefined;
  const authoriser = stringField(event.content, 'join_authorised_via_users_server');
  if (authoriser === undefined) return undefined;
  const at = authoriser.indexOf(':');
  return at < 0 ? undefined : authoriser.slice(at + 1);
};

/**
 * The room's join rule. The spec gives no default; like Synapse and ruma we read a missing
 * m.room.join_rules event (or a missing `join_rule`) as `invite`, so that state resolution agrees
 * with theirs. A non-string `join_rule` matches no rule and so denies.
 */
const effectiveJoinRule = (state: StateLookup): string => {
  const event = state('m.room.join_rules', '');
  if (event === undefined || !hasOwnField(event.content, 'join_rule')) return 'invite';
  return joinRuleOf(state) ?? '';
};

/** The user who may make the first join: v1–v10 `content.creator`, since v11 the create `sender`. */
const creatorOf = (create: RoomEvent, rules: RoomVersionRules): string | undefined =>
  rules.auth.creatorIsCreateSender ? create.sender : stringField(create.content, 'creator');

const checkJoin = (event: RoomEvent, target: string, state: StateLookup, rules: RoomVersionRules): AuthDecision => {
  // 5.3.1: "If the only previous event is an m.room.create and the state_key is the creator, allow."
  // (Since v11: "the sender of the m.room.create".)
  const create = createEventOf(state);
  if (
    create !== undefined &&
    event.prevEventIds.length === 1 &&
    event.prevEventIds[0] === create.eventId &&
    target === creatorOf(create, rules)
  ) {
    return ALLOW;
  }
  // 5.3.2: "If the sender does not match state_key, reject."
  if (event.sender !== target) return deny('join: the sender does not match the state_key');
  // 5.3.3: "If the sender is banned, reject."
  const current = membershipOf(target, state);
  if (current === 'ban') return deny('join: the sender is banned');

  const joinRule = effectiveJoinRule(state);
  const invitedOrJoined = current === 'invite' || current === 'join';
  // 5.3.4: "If the join_rule is invite [since v7: or knock] then allow if membership state is
  // invite or join."
  if (joinRule === 'invite' || (joinRule === 'knock' && rules.auth.knocking)) {
    return invitedOrJoined ? ALLOW : deny(`join: join rule is ${joinRule} and the user is not invited`);
  }
  // Since v8, 5.3.5: "If the join_rule is restricted [since v10: or knock_restricted]:"
  if (
    (joinRule === 'restricted' && rules.auth.restrictedJoins) ||
    (joinRule === 'knock_restricted' && rules.auth.knockRestrictedJoinRule)
  ) {
    // 5.3.5.1: "If membership state is join or invite, allow."
    if (invitedOrJoined) return ALLOW;
    // 5.3.5.2: "If the join_authorised_via_users_server key in content is not a user with
    // sufficient permission to invite other users or is not a joined member of the room, reject."
    const authoriser = stringField(event.content, 'join_authorised_via_users_server');
    if (authoriser === undefined) return deny('restricted join: no join_authorised_via_users_server');
    if (membershipOf(authoriser, state) !== 'join') return deny('restricted join: the authorising user is not joined');
    if (powerLevelOf(authoriser, state, rules) < namedPowerLevel('invite', state, rules)) {
      return deny('restricted join: the authorising user may not invite');
    }
    // 5.3.5.3: "Otherwise, allow."
    return ALLOW;
  }
  // 5.3.6: "If the join_rule is public, allow."
  if (joinRule === 'public') return ALLOW;
  // 5.3.7: "Otherwise, reject."
  return deny(`join: join rule ${JSON.stringify(joinRule)} does not allow joining`);
};

const checkInvite = (event: RoomEvent, target: string, state: StateLookup, rules: RoomVersionRules): AuthDecision => {
  // 5.4.1: "If content has a third_party_invite property: …"
  if (hasOwnField(event.content, 'third_party_invite')) return checkThirdPartyInvite(event, target, state);
  // 5.4.2: "If the sender's current membership state is not join, reject."
  if (membershipOf(event.sender, state) !== 'join') return deny('invite: the sender is not joined');
  // 5.4.3: "If target user's current membership state is join or ban, reject."
  const current = membershipOf(target, state);
  if (current === 'join' || current === 'ban') return deny(`invite: the target user is already ${current === 'join' ? 'joined' : 'banned'}`);
  // 5.4.4: "If the sender's power level is greater than or equal to the invite level, allow."
  if (powerLevelOf(event.sender, state, rules) >= namedPowerLevel('invite', state, rules)) return ALLOW;
  // 5.4.5: "Otherwise, reject."
  return deny('invite: the sender is below the invite level');
};

const checkLeave = (event: RoomEvent, target: string, state: StateLookup, rules: RoomVersionRules): AuthDecision => {
  const current = membershipOf(target, state);
  // 5.5.1: "If the sender matches state_key, allow if and only if that user's current membership
  // state is invite, join [since v7: or knock]."
  if (event.sender === target) {
    if (current === 'invite' || current === 'join' || (current === 'knock' && rules.auth.knocking)) return ALLOW;
    return deny(`leave: cannot leave with membership ${current ?? 'none'}`);
  }
  // 5.5.2: "If the sender's current membership state is not join, reject."
  if (membershipOf(event.sender, state) !== 'join') return deny('kick: the sender is not joined');
  const senderPower = powerLevelOf(event.sender, state, rules);
  // 5.5.3: "If the target user's current membership state is ban, and the sender's power level is
  // less than the ban level, reject."
  if (current === 'ban' && senderPower < namedPowerLevel('ban', state, rules)) {
    return deny('unban: the sender is below the ban level');
  }
  // 5.5.4: "If the sender's power level is greater than or equal to the kick level, and the target
  // user's power level is less than the sender's power level, allow."
  if (senderPower >= namedPowerLevel('kick', state, rules) && powerLevelOf(target, state, rules) < senderPower) {
    return ALLOW;
  }
  // 5.5.5: "Otherwise, reject."
  return deny('kick: the sender is below the kick level or not above the target');
};

const checkBan = (event: RoomEvent, target: string, state: StateLookup, rules: RoomVersionRules): AuthDecision => {
  // 5.6.1: "If the sender's current membership state is not join, reject."
  if (membershipOf(event.sender, state) !== 'join') return deny('ban: the sender is not joined');
  // 5.6.2: "If the sender's power level is greater than or equal to the ban level, and the target
  // user's power level is less than the sender's power level, allow."
  const senderPower = powerLevelOf(event.sender, state, rules);
  if (senderPower >= namedPowerLevel('ban', state, rules) && powerLevelOf(target, state, rules) < senderPower) {
    return ALLOW;
  }
  // 5.6.3: "Otherwise, reject."
  return deny('ban: the sender is below the ban level or not above the target');
};

const checkKnock = (event: RoomEvent, target: string, state: StateLookup, rules: RoomVersionRules): AuthDecision => {
  // Since v7, 5.7.1: "If the join_rule is anything other than knock [since v10: or
  // knock_restricted], reject."
  const joinRule = effectiveJoinRule(state);
  if (!(joinRule === 'knock' || (joinRule === 'knock_restricted' && rules.auth.knockRestrictedJoinRule))) {
    return deny(`knock: join rule ${JSON.stringify(joinRule)} does not allow knocking`);
  }
  // 5.7.2: "If sender does not match state_key, reject."
  if (event.sender !== target) return deny('knock: the sender does not match the state_key');
  // 5.7.3: "If the sender's current membership is not ban, invite, or join, allow."
  const current = membershipOf(target, state);
  if (current !== 'ban' && current !== 'invite' && current !== 'join') return ALLOW;
  // 5.7.4: "Otherwise, reject."
  return deny(`knock: the sender's membership is ${current}`);
};
