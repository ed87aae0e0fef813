/**
 * Push rule conditions (client-server-api/modules/push.md § Conditions). Each is a pure check of
 * one event against what the caller knows about the room and the user. Rules are user data, so
 * every field is checked at run time: a malformed condition simply does not match.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.ts';
import { containsWords, globMatches } from './glob.ts';
import { propertyAt } from './propertyPath.ts';

/** What the evaluator needs to know besides the event, for one user in one room. */
export interface PushContext {
  /** The user whose rules these are. */
  readonly userId: string;
  /** The user's display name in the room (for the legacy `contains_display_name`). */
  readonly displayName?: string;
  /** The room's current number of joined members. */
  readonly roomMemberCount: number;
  /** The sender's power level in the room. */
  readonly senderPowerLevel: number;
  /**
   * `notifications` of the room's power levels, e.g. `{ room: 50 }`. A key that is absent needs
   * 50, the default the m.room.power_levels schema gives `room`.
   */
  readonly notificationPowerLevels: Readonly<Record<string, number>>;
}

const DEFAULT_NOTIFICATION_LEVEL = 50;

/** Spec: only non-compound canonical JSON values: strings, safe integers, booleans and null. */
const isScalar = (value: JsonValue | undefined): value is string | number | boolean | null =>
  value === null || typeof value === 'string' || typeof value === 'boolean' || Number.isSafeInteger(value);

/** `event_match`: a glob over a string property; `content.body` matches at word boundaries. */
const eventMatch = (condition: JsonObject, event: JsonObject): boolean => {
  const { key, pattern } = condition;
  if (typeof key !== 'string' || typeof pattern !== 'string') return false;
  const value = propertyAt(event, key);
  // Spec: an absent or non-string property never matches, even the pattern `*`.
  if (typeof value !== 'string') return false;
  return globMatches(pattern, value, key === 'content.body' ? 'words' : 'whole');
};

/** `event_property_is` (since v1.7): exact equality of scalars, with no casting between types. */
const eventPropertyIs = (condition: JsonObject, event: JsonObject): boolean => {
  if (typeof condition.key !== 'string' || !isScalar(condition.value)) return false;
  const value = propertyAt(event, condition.key);
  return isScalar(value) && value === condition.value;
};

/** `event_property_contains` (since v1.7): an array property holds the scalar exactly. */
const eventPropertyContains = (condition: JsonObject, event: JsonObject): boolean => {
  if (typeof condition.key !== 'string' || !isScalar(condition.value)) return false;
  const value = propertyAt(event, condition.key);
  // Compound array items are ignored; `===` never equates them with a scalar anyway.
  return Array.isArray(value) && value.includes(condition.value);
};

/** `contains_display_name` (deprecated since v1.17): the display name, literally, in the body. */
const containsDisplayName = (event: JsonObject, context: PushContext): boolean => {
  const body = propertyAt(event, 'content.body');
  const name = context.displayName;
  return typeof body === 'string' && typeof name === 'string' && name !== '' && containsWords(name, body);
};

const MEMBER_COUNT = /^(==|<=|>=|<|>)?([0-9]+)$/;

/** `room_member_count`: `is` is a decimal integer, optionally prefixed by a comparison (`==` by default). */
const roomMemberCount = (condition: JsonObject, context: PushContext): boolean => {
  const match = typeof condition.is === 'string' ? MEMBER_COUNT.exec(condition.is) : null;
  if (match === null) return false;
  const wanted = Number(match[2]);
  const count = context.roomMemberCount;
  switch (match[1]) {
    case '<': return count < wanted;
    case '>': return count > wanted;
    case '<=': return count <= wanted;
    case '>=': return count >= wanted;
    default: return count === wanted;
  }
};

/** `sender_notification_permission`: the sender's power reaches `notifications[key]`. */
const senderNotificationPermission = (condition: JsonObject, context: PushContext): boolean => {
  const { key } = condition;
  if (typeof key !== 'string') return false;
  const levels = context.notificationPowerLevels;
  const required = Object.hasOwn(levels, key) ? levels[key]! : DEFAULT_NOTIFICATION_LEVEL;
  return context.senderPowerLevel >= required;
};

/** Whether one condition holds. Spec: unrecognised conditions MUST NOT match any events. */
export const conditionHolds = (condition: JsonValue, event: JsonObject, context: PushContext): boolean => {
  if (!isJsonObject(condition)) return false;
  switch (condition.kind) {
    case 'event_match': return eventMatch(condition, event);
    case 'event_property_is': return eventPropertyIs(condition, event);
    case 'event_property_contains': return eventPropertyContains(condition, event);
    case 'contains_display_name': return containsDisplayName(event, context);
    case 'room_member_count': return roomMemberCount(condition, context);
    case 'sender_notification_permission': return senderNotificationPermission(condition, context);
    default: return false;
  }
};

/** `content` rules: the rule's `pattern` against `content.body`, at word boundaries. */
export const contentPatternMatches = (pattern: JsonValue | undefined, event: JsonObject): boolean => {
  const body = propertyAt(event, 'content.body');
  return typeof pattern === 'string' && typeof body === 'string' && globMatches(pattern, body, 'words');
};
