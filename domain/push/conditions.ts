/**
 * Push rule conditions (client-server-api/modules/push.md § Conditions). Each is a pure check of
 * one event against what the caller knows about the room and the user. Rules are user data, so
 * every field is checked at run time: a malformed condition simply does not match. Conditions are
 * compiled once per ruleset (evaluate.ts): keys split, globs and comparisons read ahead of the events.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../json.ts';
import { compiledGlobMatches, compileGlob, containsWords } from './glob.ts';
import { parsePropertyPath, propertyAtPath } from './propertyPath.ts';

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

/** A condition read once: whether it holds for an event, in a push context. */
export type CompiledCondition = (event: JsonObject, context: PushContext) => boolean;

const NEVER: CompiledCondition = () => false;

/** `event_match`: a glob over a string property; `content.body` matches at word boundaries. */
const eventMatch = (condition: JsonObject): CompiledCondition => {
  const { key, pattern } = condition;
  if (typeof key !== 'string' || typeof pattern !== 'string') return NEVER;
  const path = parsePropertyPath(key);
  const glob = compileGlob(pattern);
  const mode = key === 'content.body' ? 'words' : 'whole';
  return (event) => {
    const value = propertyAtPath(event, path);
    // Spec: an absent or non-string property never matches, even the pattern `*`.
    return typeof value === 'string' && compiledGlobMatches(glob, value, mode);
  };
};

/** `event_property_is` (since v1.7): exact equality of scalars, with no casting between types. */
const eventPropertyIs = (condition: JsonObject): CompiledCondition => {
  const wanted = condition.value;
  if (typeof condition.key !== 'string' || !isScalar(wanted)) return NEVER;
  const path = parsePropertyPath(condition.key);
  return (event) => {
    const value = propertyAtPath(event, path);
    return isScalar(value) && value === wanted;
  };
};

/** `event_property_contains` (since v1.7): an array property holds the scalar exactly. */
const eventPropertyContains = (condition: JsonObject): CompiledCondition => {
  const wanted = condition.value;
  if (typeof condition.key !== 'string' || !isScalar(wanted)) return NEVER;
  const path = parsePropertyPath(condition.key);
  return (event) => {
    const value = propertyAtPath(event, path);
    // Compound array items are ignored; `===` never equates them with a scalar anyway.
    return Array.isArray(value) && value.includes(wanted);
  };
};

const BODY = parsePropertyPath('content.body');

/** `contains_display_name` (deprecated since v1.17): the display name, literally, in the body. */
const containsDisplayName: CompiledCondition = (event, context) => {
  const body = propertyAtPath(event, BODY);
  const name = context.displayName;
  return typeof body === 'string' && typeof name === 'string' && name !== '' && containsWords(name, body);
};

const MEMBER_COUNT = /^(==|<=|>=|<|>)?([0-9]+)$/;

/** `room_member_count`: `is` is a decimal integer, optionally prefixed by a comparison (`==` by default). */
const roomMemberCount = (condition: JsonObject): CompiledCondition => {
  const match = typeof condition.is === 'string' ? MEMBER_COUNT.exec(condition.is) : null;
  if (match === null) return NEVER;
  const wanted = Number(match[2]);
  switch (match[1]) {
    case '<': return (_event, context) => context.roomMemberCount < wanted;
    case '>': return (_event, context) => context.roomMemberCount > wanted;
    case '<=': return (_event, context) => context.roomMemberCount <= wanted;
    case '>=': return (_event, context) => context.roomMemberCount >= wanted;
    default: return (_event, context) => context.roomMemberCount === wanted;
  }
};

/** `sender_notification_permission`: the sender's power reaches `notifications[key]`. */
const senderNotificationPermission = (condition: JsonObject): CompiledCondition => {
  const { key } = condition;
  if (typeof key !== 'string') return NEVER;
  return (_event, context) => {
    const levels = context.notificationPowerLevels;
    const required = Object.hasOwn(levels, key) ? levels[key]! : DEFAULT_NOTIFICATION_LEVEL;
    return context.senderPowerLevel >= required;
  };
};

/** One condition read once. Spec: unrecognised conditions MUST NOT match any events. */
export const compileCondition = (condition: JsonValue): CompiledCondition => {
  if (!isJsonObject(condition)) return NEVER;
  switch (condition.kind) {
    case 'event_match': return eventMatch(condition);
    case 'event_property_is': return eventPropertyIs(condition);
    case 'event_property_contains': return eventPropertyContains(condition);
    case 'contains_display_name': return containsDisplayName;
    case 'room_member_count': return roomMemberCount(condition);
    case 'sender_notification_permission': return senderNotificationPermission(condition);
    default: return NEVER;
  }
};

/** Whether one condition holds (compiling it for this one call). */
export const conditionHolds = (condition: JsonValue, event: JsonObject, context: PushContext): boolean =>
  compileCondition(condition)(event, context);

/** `content` rules: the rule's `pattern` against `content.body`, at word boundaries. */
export const compileContentPattern = (pattern: JsonValue | undefined): CompiledCondition => {
  if (typeof pattern !== 'string') return NEVER;
  const glob = compileGlob(pattern);
  return (event) => {
    const body = propertyAtPath(event, BODY);
    return typeof body === 'string' && compiledGlobMatches(glob, body, 'words');
  };
};
