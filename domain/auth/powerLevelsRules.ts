import { isJsonObject } from '../json.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import type { RoomEvent } from '../events/index.ts';
import type { RoomVersionRules } from '../roomVersions/index.ts';
import { ALLOW, deny } from './decision.ts';
import type { AuthDecision, StateLookup } from './decision.ts';
import { createEventOf, hasOwnField, isValidUserId, ownField } from './content.ts';
import { NAMED_POWER_LEVELS, parsePowerLevel, powerLevelOf, roomCreators } from './powerLevels.ts';
import type { NamedPowerLevel } from './powerLevels.ts';

/*
 * Rule 10 (v12 numbering; rule 9 in v3–v11, rule 10 in v1–v2): m.room.power_levels events.
 * Rule numbers below follow v12.
 */

const NAMED = Object.keys(NAMED_POWER_LEVELS) as NamedPowerLevel[];

export const checkPowerLevelsEvent = (event: RoomEvent, state: StateLookup, rules: RoomVersionRules): AuthDecision => {
  const content = event.content;
  const shape = checkShape(content, rules);
  if (!shape.allowed) return shape;

  // Since v12, 10.4: "If the users property in content contains the sender of the m.room.create
  // event or any of the additional_creators array … reject."
  if (rules.auth.privilegedCreators) {
    const users = ownField(content, 'users');
    for (const creator of roomCreators(createEventOf(state), rules)) {
      if (hasOwnField(users, creator)) return deny(`power levels must not list the room creator ${creator}`);
    }
  }

  // 10.5: "If there is no previous m.room.power_levels event in the room, allow."
  const previous = state('m.room.power_levels', '');
  if (previous === undefined) return ALLOW;
  const current: JsonObject = isJsonObject(previous.content) ? previous.content : {};
  const senderPower = powerLevelOf(event.sender, state, rules);
  const level = (value: JsonValue | undefined): number | undefined => parsePowerLevel(value, rules);

  // 10.6: "For the properties users_default, events_default, state_default, ban, redact, kick,
  // invite check if they were added, changed or removed. For each found alteration: if the current
  // value is higher than the sender's current power level, reject; if the new value is higher than
  // the sender's current power level, reject."
  for (const name of NAMED) {
    const denial = checkAlteration(name, level(ownField(current, name)), level(ownField(content, name)), senderPower, false);
    if (denial !== undefined) return denial;
  }

  // 10.7 / 10.8: entries changed in or removed from `events` [since v6: and `notifications`] need
  // the current value ≤ sender power; entries added or changed need the new value ≤ sender power.
  const maps = rules.auth.limitNotificationsPowerLevels ? ['events', 'notifications'] : ['events'];
  for (const map of maps) {
    const denial = checkMap(map, ownField(current, map), ownField(content, map), level, senderPower, undefined);
    if (denial !== undefined) return denial;
  }

  // 10.9: "For each entry being changed in, or removed from, the users property, other than the
  // sender's own entry: if the current value is greater than or equal to the sender's current
  // power level, reject."
  // 10.10: "For each entry being added to, or changed in, the users property: if the new value is
  // greater than the sender's current power level, reject."
  const denial = checkMap('users', ownField(current, 'users'), ownField(content, 'users'), level, senderPower, event.sender);
  if (denial !== undefined) return denial;

  // 10.11: "Otherwise, allow."
  return ALLOW;
};

/** Rules 10.1–10.3: the shape of the new content. */
const checkShape = (content: JsonObject, rules: RoomVersionRules): AuthDecision => {
  // Since v10, 10.1: named properties "present and not an integer" reject. Before v10 the spec only
  // validates `users`, but a value that is not a power level at all (neither integer nor integer
  // string) is refused as Synapse and ruma refuse it, so that state never holds one.
  for (const name of NAMED) {
    if (hasOwnField(content, name) && parsePowerLevel(content[name], rules) === undefined) {
      return deny(`power levels: ${name} is not a valid power level`);
    }
  }
  // Since v10, 10.2: "If either of the properties events or notifications in content are present
  // and not an object with values that are integers, reject." (Same note as above; before v6 the
  // rules never read `notifications`, so its shape is left alone there.)
  const maps = rules.auth.limitNotificationsPowerLevels ? ['events', 'notifications'] : ['events'];
  for (const map of maps) {
    if (!hasOwnField(content, map)) continue;
    const value = content[map];
    if (!isJsonObject(value)) return deny(`power levels: ${map} is not an object`);
    for (const key of Object.keys(value)) {
      if (parsePowerLevel(value[key], rules) === undefined) return deny(`power levels: ${map}[${key}] is not a valid power level`);
    }
  }
  // 10.3: "If the users property in content is not an object with keys that are valid user IDs
  // with values that are integers [v1–v9: or a string that is an integer], reject."
  if (hasOwnField(content, 'users')) {
    const users = content.users;
    if (!isJsonObject(users)) return deny('power levels: users is not an object');
    for (const userId of Object.keys(users)) {
      if (!isValidUserId(userId)) return deny(`power levels: ${JSON.stringify(userId)} is not a valid user id`);
      if (parsePowerLevel(users[userId], rules) === undefined) return deny(`power levels: users[${userId}] is not a valid power level`);
    }
  }
  return ALLOW;
};

/**
 * One key of a power levels comparison. `strictForCurrent` is rule 10.9's "greater than or equal"
 * for other users' entries; everything else uses "greater than".
 */
const checkAlteration = (
  name: string,
  before: number | undefined,
  after: number | undefined,
  senderPower: number,
  strictForCurrent: boolean,
): AuthDecision | undefined => {
  if (before === after) return undefined;
  if (before !== undefined && (strictForCurrent ? before >= senderPower : before > senderPower)) {
    return deny(`power levels: cannot change ${name} from ${before}, above the sender's level ${senderPower}`);
  }
  if (after !== undefined && after > senderPower) {
    return deny(`power levels: cannot set ${name} to ${after}, above the sender's level ${senderPower}`);
  }
  return undefined;
};

const checkMap = (
  map: string,
  currentMap: JsonValue | undefined,
  newMap: JsonValue | undefined,
  level: (value: JsonValue | undefined) => number | undefined,
  senderPower: number,
  sender: string | undefined,
): AuthDecision | undefined => {
  const keys = new Set([...Object.keys(isJsonObject(currentMap) ? currentMap : {}), ...Object.keys(isJsonObject(newMap) ? newMap : {})]);
  for (const key of keys) {
    // 10.9 exempts the sender's own entry from the ≥ check on the current value (you may lower
    // yourself); 10.10 still applies to it.
    const own = sender !== undefined && key === sender;
    const before = own ? undefined : level(ownField(currentMap, key));
    const after = level(ownField(newMap, key));
    if (own && level(ownField(currentMap, key)) === after) continue;
    const denial = checkAlteration(`${map}[${key}]`, before, after, senderPower, sender !== undefined);
    if (denial !== undefined) return denial;
  }
  return undefined;
};
