/**
 * What this server refuses to create even where the room version's auth rules would allow it:
 * events whose effect reaches beyond the auth rules. Only local events are refused here (a remote
 * event is judged by the auth rules alone, or the room would fork between servers). The choices
 * follow Synapse's EventValidator and message handler, which the spec leaves to servers.
 */
import type { StateLookup } from '../auth/index.ts';
import type { RoomEvent } from '../events/index.ts';
import { parseServerAcl, serverAclAllows } from '../federation/serverAcl.ts';
import { isRoomAlias, roomAliasServerName, type RoomAlias } from '../ids/index.ts';
import { isJsonObject, type JsonValue } from '../json.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import type { DecisionError } from './commands.ts';

/** client-server-api § m.room.member: the memberships there are. */
const MEMBERSHIPS = new Set(['invite', 'join', 'knock', 'leave', 'ban']);

const serverOf = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

/** The aliases an m.room.canonical_alias names: `alias` and `alt_aliases` (undefined when malformed). */
const canonicalAliases = (content: JsonValue | undefined): string[] | undefined => {
  const fields = isJsonObject(content) ? content : {};
  const { alias, alt_aliases: alt } = fields;
  if (alias !== undefined && (typeof alias !== 'string' || !isRoomAlias(alias))) return undefined;
  if (alt !== undefined && (!Array.isArray(alt) || !alt.every((entry) => typeof entry === 'string' && isRoomAlias(entry)))) return undefined;
  return [...(alias === undefined ? [] : [alias]), ...((alt ?? []) as string[])];
};

/**
 * room_state.yaml (PUT m.room.canonical_alias): invalid aliases are 400 M_INVALID_PARAM; an alias
 * "that does not point to the room" is 400 M_BAD_ALIAS. Only this server's aliases can be
 * checked; as in Synapse only those the event adds are, so a room keeps aliases it already lists.
 */
const canonicalAliasProblem = (event: RoomEvent, state: StateLookup, aliasPointsHere: (alias: string) => boolean): DecisionError | undefined => {
  const named = canonicalAliases(event.content);
  if (named === undefined) return { errcode: 'M_INVALID_PARAM', reason: "'alias' and 'alt_aliases' must be room aliases" };
  const listed = new Set(canonicalAliases(state('m.room.canonical_alias', '')?.content) ?? []);
  const server = serverOf(event.sender);
  const stray = named.find((alias) => !listed.has(alias) && roomAliasServerName(alias as RoomAlias) === server && !aliasPointsHere(alias));
  return stray === undefined ? undefined : { errcode: 'M_BAD_ALIAS', reason: `${stray} does not point to this room` };
};

/** Why this server will not create `event` (which already passed the auth rules), if it will not. */
const POWER_LEVEL_NUMBERS = ['ban', 'events_default', 'invite', 'kick', 'redact', 'state_default', 'users_default'];
const POWER_LEVEL_MAPS = ['events', 'notifications', 'users'];
const MAX_SAFE = 2 ** 53 - 1;
const isLevel = (value: JsonValue | undefined): boolean => typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= MAX_SAFE;

/**
 * As Synapse's EventValidator (POWER_LEVELS_SCHEMA): this server writes power levels as integers
 * in every room version, though rooms before v10 accept strings from others ("stringy" levels).
 */
const powerLevelsProblem = (content: JsonValue): DecisionError | undefined => {
  const levels = isJsonObject(content) ? content : {};
  const bad = POWER_LEVEL_NUMBERS.find((key) => levels[key] !== undefined && !isLevel(levels[key]))
    ?? POWER_LEVEL_MAPS.find((key) => levels[key] !== undefined
      && (!isJsonObject(levels[key]) || !Object.values(levels[key] as object).every((value) => isLevel(value as JsonValue))));
  return bad === undefined ? undefined : { errcode: 'M_BAD_JSON', reason: `m.room.power_levels: '${bad}' must hold integers` };
};

/** What the local policy needs beyond the room's state, preloaded by the use-case (commands.ts RoomLookups). */
export interface PolicyLookups {
  readonly aliasPointsHere: (alias: string) => boolean;
  readonly joinedRooms: (userId: string) => ReadonlySet<string> | undefined;
  readonly blocksInvites: (userId: string) => boolean;
  readonly isGuest: (userId: string) => boolean;
}

/**
 * guest_access.md § Server behaviour: "Servers MUST only allow guest users to join rooms if the
 * m.room.guest_access state event is present on the room, and has the guest_access value can_join."
 * Guests are this server's notion, so only this server's judgement of its own users' memberships.
 * A guest only joins and leaves (Synapse's membership endpoints), whichever endpoint it uses.
 */
const guestMembershipProblem = (event: RoomEvent, state: StateLookup, isGuest: PolicyLookups['isGuest']): DecisionError | undefined => {
  const { membership } = event.content;
  if (isGuest(event.sender) && (event.stateKey !== event.sender || (membership !== 'join' && membership !== 'leave'))) {
    return { errcode: 'M_FORBIDDEN', reason: 'Guests may only join and leave rooms' };
  }
  if (membership !== 'join' || !isGuest(event.stateKey!)) return undefined;
  const guestAccess = state('m.room.guest_access', '')?.content.guest_access;
  return guestAccess === 'can_join' ? undefined : { errcode: 'M_FORBIDDEN', reason: 'Guest access not allowed' };
};

/**
 * A local user's own join through `join_authorised_via_users_server` (since v8, restricted and
 * since v10 knock_restricted rooms). The auth rules only check the authoriser's power; that the
 * joining user meets an `allow` condition is the resident server's word (client-server-api
 * § Restricted rooms: "the user must be joined to one of the rooms listed"), given by signing
 * as the authoriser's server — so this server only authorises through its own users and only
 * users in an allowed room, whichever endpoint asked (/join or PUT state/m.room.member).
 */
const restrictedJoinProblem = (event: RoomEvent, state: StateLookup, rules: RoomVersionRules, joinedRooms: PolicyLookups['joinedRooms']): DecisionError | undefined => {
  const authoriser = event.content.join_authorised_via_users_server;
  if (authoriser === undefined || event.content.membership !== 'join' || event.stateKey !== event.sender) return undefined;
  const forbidden = (reason: string): DecisionError => ({ errcode: 'M_FORBIDDEN', reason });
  if (typeof authoriser !== 'string' || serverOf(authoriser) !== serverOf(event.sender)) {
    return forbidden("join_authorised_via_users_server must name a user of this server");
  }
  const current = state('m.room.member', event.sender)?.content.membership;
  // "If the user has an invite to the room then the restrictions will not affect them."
  if (current === 'join' || current === 'invite') return undefined;
  const joinRules = state('m.room.join_rules', '')?.content;
  const rule = isJsonObject(joinRules) ? joinRules.join_rule : undefined;
  const restricted = (rule === 'restricted' && rules.auth.restrictedJoins) || (rule === 'knock_restricted' && rules.auth.knockRestrictedJoinRule);
  if (!restricted) return undefined;
  const allowed = (isJsonObject(joinRules) && Array.isArray(joinRules.allow) ? joinRules.allow : [])
    .filter((entry) => isJsonObject(entry) && entry.type === 'm.room_membership' && typeof entry.room_id === 'string')
    .map((entry) => (entry as { room_id: string }).room_id);
  const joined = joinedRooms(event.sender);
  if (joined === undefined || !allowed.some((roomId) => joined.has(roomId))) {
    return forbidden('You do not belong to any of the rooms required to join this room');
  }
  return undefined;
};

export const localPolicyProblem = (
  event: RoomEvent, state: StateLookup, rules: RoomVersionRules, lookups: PolicyLookups,
): DecisionError | undefined => {
  const isState = event.stateKey !== undefined;
  switch (event.type) {
    case 'm.room.create':
      // A room has exactly one create event: the one its id names (v12) or the first (before).
      if (state('m.room.create', '') !== undefined) return { errcode: 'M_FORBIDDEN', reason: 'a room has exactly one m.room.create event' };
      return undefined;
    case 'm.room.member': {
      const membership = event.content.membership;
      if (!isState || typeof membership !== 'string' || !MEMBERSHIPS.has(membership)) {
        return { errcode: 'M_BAD_JSON', reason: 'an m.room.member event needs a state key and a known membership' };
      }
      // invite_permission.md: an invite to a user who blocks invites is 403 M_INVITE_BLOCKED.
      if (membership === 'invite' && event.stateKey !== event.sender && lookups.blocksInvites(event.stateKey!)) {
        return { errcode: 'M_INVITE_BLOCKED', reason: `${event.stateKey} does not accept invites` };
      }
      return guestMembershipProblem(event, state, lookups.isGuest) ?? restrictedJoinProblem(event, state, rules, lookups.joinedRooms);
    }
    case 'm.room.server_acl':
      // Synapse: "Can't create an ACL event that denies the local server" — the room would stop
      // federating with this server, and its own users could not be heard.
      if (isState && event.stateKey === '' && !serverAclAllows(parseServerAcl(event.content), serverOf(event.sender))) {
        return { errcode: 'M_INVALID_PARAM', reason: 'this server cannot send an m.room.server_acl that denies itself' };
      }
      return undefined;
    case 'm.room.tombstone': {
      // room_upgrades.md: a tombstone points at the room that replaces this one, never itself.
      if (!isState) return undefined;
      const replacement = event.content.replacement_room;
      if (typeof replacement !== 'string' || replacement === event.roomId) {
        return { errcode: 'M_BAD_JSON', reason: 'an m.room.tombstone needs a replacement_room other than this room' };
      }
      return undefined;
    }
    case 'm.room.power_levels':
      return isState && event.stateKey === '' ? powerLevelsProblem(event.content) : undefined;
    case 'm.room.canonical_alias':
      return isState && event.stateKey === '' ? canonicalAliasProblem(event, state, lookups.aliasPointsHere) : undefined;
    default:
      return undefined;
  }
};
