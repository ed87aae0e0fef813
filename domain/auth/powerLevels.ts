import { isJsonObject } from '../json.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import type { RoomEvent } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import type { StateLookup } from './decision.ts';
import { createEventOf, ownField, stringField } from './content.ts';

/** The top-level integer properties of m.room.power_levels content and their defaults. */
export const NAMED_POWER_LEVELS = {
  users_default: 0,
  events_default: 0,
  state_default: 50,
  ban: 50,
  kick: 50,
  redact: 50,
  invite: 0,
} as const;
export type NamedPowerLevel = keyof typeof NAMED_POWER_LEVELS;

// v1 "stringy power levels": a base-10 integer with optional sign, leading zeros and surrounding
// whitespace ("+100", " 00100 ").
const INTEGER_STRING = /^\s*[+-]?[0-9]+\s*$/;

/**
 * A power level value as the room version reads it, or undefined when it is not one.
 * Since v10: only integers. v1–v9: integers, strings holding an integer (rooms/fragments/
 * v1-stringy-power-levels.md) and, before v6's canonical JSON, floats truncated toward zero
 * (v1-floaty-power-levels.md).
 */
export const parsePowerLevel = (value: JsonValue | undefined, rules: RoomVersionRules): number | undefined => {
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value;
    if (rules.auth.integerPowerLevels || rules.auth.strictCanonicalJson || !Number.isFinite(value)) return undefined;
    return Math.trunc(value);
  }
  if (typeof value === 'string' && !rules.auth.integerPowerLevels && INTEGER_STRING.test(value)) {
    return Number.parseInt(value.trim(), 10);
  }
  return undefined;
};

/**
 * The room creators. v1–v10: `content.creator` of the create event. Since v11: its `sender`.
 * Since v12: its `sender` plus every user in `content.additional_creators`.
 */
export const roomCreators = (create: RoomEvent | undefined, rules: RoomVersionRules): ReadonlySet<string> => {
  const creators = new Set<string>();
  if (create === undefined) return creators;
  if (!rules.auth.creatorIsCreateSender) {
    const creator = stringField(create.content, 'creator');
    if (creator !== undefined) creators.add(creator);
    return creators;
  }
  creators.add(create.sender);
  if (rules.auth.privilegedCreators) {
    const additional = ownField(create.content, 'additional_creators');
    if (Array.isArray(additional)) for (const user of additional) if (typeof user === 'string') creators.add(user);
  }
  return creators;
};

/** Content of the current m.room.power_levels event, or undefined when the room has none. */
export const powerLevelsContentOf = (state: StateLookup): JsonObject | undefined => {
  const event = state('m.room.power_levels', '');
  if (event === undefined) return undefined;
  return isJsonObject(event.content) ? event.content : {};
};

/** A top-level level (`ban`, `invite`, `state_default`, …), defaulted as the power levels schema says. */
export const namedPowerLevel = (name: NamedPowerLevel, state: StateLookup, rules: RoomVersionRules): number =>
  parsePowerLevel(ownField(powerLevelsContentOf(state), name), rules) ?? NAMED_POWER_LEVELS[name];

/**
 * A user's power level. Since v12: creators have infinite power. Otherwise `users[userId]`, else
 * `users_default`; with no m.room.power_levels event, v1–v11 give the creator 100 and others 0.
 */
export const powerLevelOf = (userId: string, state: StateLookup, rules: RoomVersionRules): number => {
  const create = createEventOf(state);
  const creators = roomCreators(create, rules);
  if (rules.auth.privilegedCreators && creators.has(userId)) return Number.POSITIVE_INFINITY;
  const content = powerLevelsContentOf(state);
  if (content === undefined) return creators.has(userId) ? 100 : 0;
  const own = parsePowerLevel(ownField(ownField(content, 'users'), userId), rules);
  return own ?? parsePowerLevel(ownField(content, 'users_default'), rules) ?? NAMED_POWER_LEVELS.users_default;
};

/**
 * The level needed to send an event of `type`: `events[type]`, else `state_default` (50) for state
 * events or `events_default` (0) for others, with or without an m.room.power_levels event.
 */
export const requiredPowerForEvent = (
  type: string,
  isState: boolean,
  state: StateLookup,
  rules: RoomVersionRules,
): number => {
  const content = powerLevelsContentOf(state);
  const specific = parsePowerLevel(ownField(ownField(content, 'events'), type), rules);
  if (specific !== undefined) return specific;
  return namedPowerLevel(isState ? 'state_default' : 'events_default', state, rules);
};

/** The level needed to trigger a notification such as `room` (@room): `notifications[key]`, default 50. */
export const notificationPowerLevel = (key: string, state: StateLookup, rules: RoomVersionRules): number =>
  parsePowerLevel(ownField(ownField(powerLevelsContentOf(state), 'notifications'), key), rules) ?? 50;

/**
 * The "power level of the sender" used by state resolution v2/v2.1 (reverse topological power
 * ordering): the sender's level "when looking at their respective auth_events". `authState` must
 * answer from the event's auth events and, since v12 (where the create event is never an auth
 * event), from the room's create event too; `stateLookupOf([...authEvents, create])` builds it.
 */
export const senderPowerForStateRes = (event: RoomEvent, authState: StateLookup, rules: RoomVersionRules): number =>
  powerLevelOf(event.sender, authState, rules);

/**
 * State resolution's power events (rooms/fragments/v2-state-res.md § Definitions): state events of
 * type m.room.power_levels or m.room.join_rules, and m.room.member `leave`/`ban` events whose
 * sender is not the target ("events that might remove someone's ability to do something").
 * m.room.create counts too, as in Synapse and ruma: it is never conflicted in a valid room, so this
 * only keeps a forged second create event sorted with the power events.
 */
export const isPowerEvent = (event: RoomEvent): boolean => {
  if (event.stateKey === undefined) return false;
  if (event.type === 'm.room.power_levels' || event.type === 'm.room.join_rules' || event.type === 'm.room.create') {
    return event.stateKey === '';
  }
  if (event.type !== 'm.room.member') return false;
  const membership = stringField(event.content, 'membership');
  return (membership === 'leave' || membership === 'ban') && event.sender !== event.stateKey;
};
