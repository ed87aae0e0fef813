import type { JsonObject } from '../json.ts';
import type { RoomEvent, StateTuple } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { ALLOW, deny } from './decision.ts';
import type { AuthDecision } from './decision.ts';
import { objectField, stringField } from './content.ts';

/** Since v12 the room id is the create event's hash, which "implies" it: it is never an auth event. */
export const createEventIsAuthEvent = (rules: RoomVersionRules): boolean => !rules.eventFormat.roomIdIsCreateEventHash;

/**
 * Auth events selection (server-server-api.md § Auth events selection): the (type, state_key)
 * pairs of the room state a new event must cite in `auth_events`. None for m.room.create.
 */
export const authEventTuples = (
  event: { type: string; stateKey?: string; sender: string; content: JsonObject },
  rules: RoomVersionRules,
): StateTuple[] => {
  if (event.type === 'm.room.create') return [];
  const tuples: StateTuple[] = [];
  const add = (type: string, stateKey: string): void => {
    if (!tuples.some((t) => t.type === type && t.stateKey === stateKey)) tuples.push({ type, stateKey });
  };
  // "Depending on the room version, the m.room.create event." (Not since v12.)
  if (createEventIsAuthEvent(rules)) add('m.room.create', '');
  // "The current m.room.power_levels event, if any."
  add('m.room.power_levels', '');
  // "The sender's current m.room.member event, if any."
  add('m.room.member', event.sender);
  if (event.type === 'm.room.member' && event.stateKey !== undefined) {
    const membership = stringField(event.content, 'membership');
    // "The target's current m.room.member event, if any."
    add('m.room.member', event.stateKey);
    // "If membership is join, invite or knock, the current m.room.join_rules event, if any."
    if (membership === 'join' || membership === 'invite' || membership === 'knock') add('m.room.join_rules', '');
    // "If membership is invite and content contains a third_party_invite property, the current
    // m.room.third_party_invite event with state_key matching content.third_party_invite.signed.token."
    if (membership === 'invite') {
      const token = stringField(objectField(objectField(event.content, 'third_party_invite'), 'signed'), 'token');
      if (token !== undefined) add('m.room.third_party_invite', token);
    }
    // "If membership is join, content.join_authorised_via_users_server is present, and the room
    // version supports restricted rooms, then the m.room.member event with state_key matching
    // content.join_authorised_via_users_server."
    if (membership === 'join' && rules.auth.restrictedJoins) {
      const authoriser = stringField(event.content, 'join_authorised_via_users_server');
      if (authoriser !== undefined) add('m.room.member', authoriser);
    }
  }
  return tuples;
};

/**
 * Rule 2 (v1–v11) / rule 3 (v12): checks on the `auth_events` list itself, given the events it
 * names. Whether any of them was rejected (2.3 / 3.3) is for the caller, which knows.
 */
export const checkAuthEventsList = (
  event: RoomEvent,
  authEvents: readonly RoomEvent[],
  rules: RoomVersionRules,
): AuthDecision => {
  // The create event "is empty" of auth events (auth events selection).
  if (event.type === 'm.room.create') {
    return authEvents.length === 0 ? ALLOW : deny('m.room.create must have no auth_events');
  }
  const allowed = authEventTuples(event, rules);
  const seen = new Set<string>();
  let hasCreate = false;
  for (const authEvent of authEvents) {
    if (authEvent.stateKey === undefined) return deny(`auth event ${authEvent.eventId} is not a state event`);
    const key = `${authEvent.type}\u0000${authEvent.stateKey}`;
    // 2.1: "If there are duplicate entries for a given type and state_key pair, reject."
    if (seen.has(key)) return deny(`auth_events has two ${authEvent.type} events for state_key ${JSON.stringify(authEvent.stateKey)}`);
    seen.add(key);
    // 2.2: "If there are entries whose type and state_key don't match those specified by the auth
    // events selection algorithm …, reject." Since v12: "m.room.create MUST NOT be selected".
    if (!allowed.some((t) => t.type === authEvent.type && t.stateKey === authEvent.stateKey)) {
      return deny(`auth_events cites ${authEvent.type} (${JSON.stringify(authEvent.stateKey)}), which auth events selection does not pick`);
    }
    if (authEvent.type === 'm.room.create') hasCreate = true;
    // 2.5: "If any event in auth_events has a room_id which does not match that of the event being
    // authorised, reject."
    if (authEvent.roomId !== event.roomId) return deny(`auth event ${authEvent.eventId} is from another room`);
  }
  // v1–v11, 2.4: "If there is no m.room.create event among the entries, reject."
  if (createEventIsAuthEvent(rules) && !hasCreate) return deny('auth_events has no m.room.create event');
  return ALLOW;
};
