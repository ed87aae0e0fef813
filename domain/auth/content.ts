import { isJsonObject } from '../json.ts';
import { isUserId } from '../ids/index.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import type { RoomEvent } from '../events/index.ts';
import type { StateLookup } from './decision.ts';

/*
 * Safe readers over untrusted event content. Content arrives from other servers, so every read
 * checks types and only looks at own properties (a key such as "constructor" must not reach
 * Object.prototype).
 */

/** An own property of a JSON object, or undefined (also when `value` is not an object). */
export const ownField = (value: unknown, key: string): JsonValue | undefined =>
  isJsonObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;

export const hasOwnField = (value: unknown, key: string): boolean => isJsonObject(value) && Object.hasOwn(value, key);

export const stringField = (value: unknown, key: string): string | undefined => {
  const field = ownField(value, key);
  return typeof field === 'string' ? field : undefined;
};

export const objectField = (value: unknown, key: string): JsonObject | undefined => {
  const field = ownField(value, key);
  return isJsonObject(field) ? field : undefined;
};

/** The part after the first `:` of a user id, room id (v1–v11) or event id (v1–v2). */
export const domainOf = (id: string): string | undefined => {
  const at = id.indexOf(':');
  return at < 0 ? undefined : id.slice(at + 1);
};

/**
 * A user id as auth must accept it (appendices § Historical user IDs: any localpart without `:` or
 * NUL, even empty, and a valid server name).
 */
export const isValidUserId = (userId: string): boolean => isUserId(userId);

export const createEventOf = (state: StateLookup): RoomEvent | undefined => state('m.room.create', '');

/** A user's current membership (`join`, `invite`, `leave`, `ban`, `knock`), or undefined. */
export const membershipOf = (userId: string, state: StateLookup): string | undefined =>
  stringField(state('m.room.member', userId)?.content, 'membership');

/** The room's join rule; undefined when there is no m.room.join_rules event or it is malformed. */
export const joinRuleOf = (state: StateLookup): string | undefined =>
  stringField(state('m.room.join_rules', '')?.content, 'join_rule');
