/**
 * Parsing a sliding sync request in either wire form into one SlidingSyncRequest:
 * - `unstable` (`/unstable/org.matrix.simplified_msc3575/sync`, as Synapse and today's clients):
 *   `pos`, `timeout` and `set_presence` in the query; lists carry `ranges`; `required_state` is a
 *   list of `[type, state_key]` pairs with `*`, `$ME` and `["m.room.member", "$LAZY"]`; `is_invite`.
 * - `v4` (`/v4/sync`, MSC4186 as merged): everything in the body; `range`; `required_state` is
 *   `{ include, exclude, lazy_members }` of `{ type?, state_key? }`; `is_invited`.
 * Every value the client chooses is bounded: a wrong shape is M_BAD_JSON (as Synapse's request
 * models answer), a value out of bounds M_INVALID_PARAM.
 */
import { MatrixError } from '../../../errors.ts';
import { isRoomId, utf8Length } from '../../../ids/index.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../json.ts';
import { MAX_SYNC_TIMEOUT_MS } from '../sync.ts';
import type {
  ExtensionsRequest, RequiredStateConfig, RequiredStateElement, RoomConfig, SlidingListConfig, SlidingRoomFilters, SlidingSyncRequest,
} from './types.ts';

export type SlidingSyncForm = 'unstable' | 'v4';

export const SLIDING_LIMITS = {
  lists: 100,
  listNameBytes: 64,
  rangesPerList: 100,
  /** Range indexes are list positions: beyond 2^31 no user has rooms. */
  maxIndex: 2 ** 31 - 1,
  /** Larger limits are served as this many (MSC4186: "the server may cap this number"). */
  timelineLimit: 100,
  requiredStateEntries: 100,
  roomSubscriptions: 500,
  filterEntries: 100,
  connIdBytes: 255,
  posBytes: 255,
  extensions: 50,
  /** Event types and state keys (client-server-api § Size limits). */
  stateTextBytes: 255,
} as const;

const PRESENCE = new Set(['online', 'offline', 'unavailable']);

const badJson = (message: string): MatrixError => new MatrixError('M_BAD_JSON', 400, message);
const invalid = (message: string): MatrixError => new MatrixError('M_INVALID_PARAM', 400, message);

const objectAt = (value: JsonValue | undefined, path: string): JsonObject | undefined => {
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw badJson(`'${path}' must be an object`);
  return value;
};

const arrayAt = (value: JsonValue | undefined, path: string, max: number): JsonValue[] | undefined => {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw badJson(`'${path}' must be an array`);
  if (value.length > max) throw invalid(`'${path}' has more than ${max} entries`);
  return value;
};

const booleanAt = (value: JsonValue | undefined, path: string): boolean | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw badJson(`'${path}' must be a boolean`);
  return value;
};

const stringAt = (value: JsonValue | undefined, path: string, maxBytes: number): string | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badJson(`'${path}' must be a string`);
  if (utf8Length(value) > maxBytes) throw invalid(`'${path}' is longer than ${maxBytes} bytes`);
  return value;
};

const integerAt = (value: JsonValue | undefined, path: string, max: number): number | undefined => {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw badJson(`'${path}' must be an integer`);
  if (value < 0 || value > max) throw invalid(`'${path}' must be between 0 and ${max}`);
  return value;
};

const stringsAt = (value: JsonValue | undefined, path: string): string[] | undefined =>
  arrayAt(value, path, SLIDING_LIMITS.filterEntries)?.map((entry, i) => stringAt(entry, `${path}[${i}]`, SLIDING_LIMITS.stateTextBytes) ?? (() => {
    throw badJson(`'${path}[${i}]' must be a string`);
  })());

const roomIdsAt = (value: JsonValue | undefined, path: string): string[] | undefined => {
  const ids = stringsAt(value, path);
  for (const id of ids ?? []) if (!isRoomId(id)) throw invalid(`'${path}' holds '${id}', which is not a room id`);
  return ids;
};

/** `room_types` / `not_room_types`: strings, `null` for rooms without a type. */
const roomTypesAt = (value: JsonValue | undefined, path: string): (string | null)[] | undefined =>
  arrayAt(value, path, SLIDING_LIMITS.filterEntries)?.map((entry, i) => {
    if (entry === null) return null;
    const type = stringAt(entry, `${path}[${i}]`, SLIDING_LIMITS.stateTextBytes);
    if (type === undefined) throw badJson(`'${path}[${i}]' must be a string or null`);
    return type;
  });

const filtersOf = (value: JsonValue | undefined, path: string, form: SlidingSyncForm): SlidingRoomFilters => {
  const raw = objectAt(value, path);
  if (raw === undefined) return {};
  const isInvite = booleanAt(raw[form === 'v4' ? 'is_invited' : 'is_invite'], `${path}.${form === 'v4' ? 'is_invited' : 'is_invite'}`);
  const entries: [keyof SlidingRoomFilters, unknown][] = [
    ['isDm', booleanAt(raw.is_dm, `${path}.is_dm`)],
    ['isInvite', isInvite],
    ['isEncrypted', booleanAt(raw.is_encrypted, `${path}.is_encrypted`)],
    ['spaces', roomIdsAt(raw.spaces, `${path}.spaces`)],
    ['roomTypes', roomTypesAt(raw.room_types, `${path}.room_types`)],
    ['notRoomTypes', roomTypesAt(raw.not_room_types, `${path}.not_room_types`)],
    ['tags', stringsAt(raw.tags, `${path}.tags`)],
    ['notTags', stringsAt(raw.not_tags, `${path}.not_tags`)],
  ];
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as SlidingRoomFilters;
};

const stateText = (value: JsonValue | undefined, path: string): string => {
  const text = stringAt(value, path, SLIDING_LIMITS.stateTextBytes);
  if (text === undefined) throw badJson(`'${path}' must be a string`);
  return text;
};

/** Unstable `required_state`: `[type, state_key]` pairs (Synapse's wildcards and placeholders). */
const unstableRequiredState = (value: JsonValue | undefined, path: string, userId: string): RequiredStateConfig => {
  const pairs = arrayAt(value, path, SLIDING_LIMITS.requiredStateEntries);
  if (pairs === undefined) throw badJson(`'${path}' is required`);
  const include: RequiredStateElement[] = [];
  let lazyMembers = false;
  pairs.forEach((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw badJson(`'${path}[${i}]' must be a [type, state_key] pair`);
    const type = stateText(pair[0], `${path}[${i}][0]`);
    const stateKey = stateText(pair[1], `${path}[${i}][1]`);
    if (stateKey === '$LAZY') {
      // Only members load lazily; `$LAZY` on another type names nothing (as Synapse).
      if (type === 'm.room.member') lazyMembers = true;
      return;
    }
    include.push({
      ...(type === '*' ? {} : { type }),
      ...(stateKey === '*' ? {} : { stateKey: stateKey === '$ME' ? userId : stateKey }),
    });
  });
  return { include, exclude: [], lazyMembers };
};

const v4Elements = (value: JsonValue | undefined, path: string): RequiredStateElement[] =>
  (arrayAt(value, path, SLIDING_LIMITS.requiredStateEntries) ?? []).map((entry, i) => {
    const element = objectAt(entry, `${path}[${i}]`);
    if (element === undefined) throw badJson(`'${path}[${i}]' must be an object`);
    const type = stringAt(element.type, `${path}[${i}].type`, SLIDING_LIMITS.stateTextBytes);
    const stateKey = stringAt(element.state_key, `${path}[${i}].state_key`, SLIDING_LIMITS.stateTextBytes);
    return { ...(type === undefined ? {} : { type }), ...(stateKey === undefined ? {} : { stateKey }) };
  });

/** MSC4186 `RequiredStateRequest`. */
const v4RequiredState = (value: JsonValue | undefined, path: string): RequiredStateConfig => {
  const raw = objectAt(value, path);
  if (raw === undefined) throw badJson(`'${path}' is required`);
  const include = v4Elements(raw.include, `${path}.include`);
  const exclude = v4Elements(raw.exclude, `${path}.exclude`);
  if (include.length + exclude.length > SLIDING_LIMITS.requiredStateEntries) {
    throw invalid(`'${path}' has more than ${SLIDING_LIMITS.requiredStateEntries} entries`);
  }
  return { include, exclude, lazyMembers: booleanAt(raw.lazy_members, `${path}.lazy_members`) ?? false };
};

const roomConfigOf = (raw: JsonObject, path: string, form: SlidingSyncForm, userId: string): RoomConfig => {
  const limit = integerAt(raw.timeline_limit, `${path}.timeline_limit`, SLIDING_LIMITS.maxIndex);
  if (limit === undefined) throw badJson(`'${path}.timeline_limit' is required`);
  return {
    timelineLimit: Math.min(limit, SLIDING_LIMITS.timelineLimit),
    requiredState: form === 'v4' ? v4RequiredState(raw.required_state, `${path}.required_state`)
      : unstableRequiredState(raw.required_state, `${path}.required_state`, userId),
  };
};

const rangeOf = (value: JsonValue, path: string): [number, number] => {
  if (!Array.isArray(value) || value.length !== 2) throw badJson(`'${path}' must be a [start, end] pair`);
  const start = integerAt(value[0], `${path}[0]`, SLIDING_LIMITS.maxIndex);
  const end = integerAt(value[1], `${path}[1]`, SLIDING_LIMITS.maxIndex);
  if (start === undefined || end === undefined) throw badJson(`'${path}' must be a [start, end] pair`);
  if (start > end) throw invalid(`'${path}' starts after it ends`);
  return [start, end];
};

const listOf = (value: JsonValue, name: string, form: SlidingSyncForm, userId: string): SlidingListConfig => {
  const path = `lists.${name}`;
  const raw = objectAt(value, path);
  if (raw === undefined) throw badJson(`'${path}' must be an object`);
  let ranges: [number, number][] | undefined;
  if (form === 'v4') {
    ranges = raw.range === undefined || raw.range === null ? undefined : [rangeOf(raw.range, `${path}.range`)];
  } else {
    ranges = arrayAt(raw.ranges, `${path}.ranges`, SLIDING_LIMITS.rangesPerList)?.map((range, i) => rangeOf(range, `${path}.ranges[${i}]`));
  }
  return {
    ...roomConfigOf(raw, path, form, userId),
    ...(ranges === undefined ? {} : { ranges }),
    filters: filtersOf(raw.filters, `${path}.filters`, form),
  };
};

const extensionsOf = (value: JsonValue | undefined): ExtensionsRequest => {
  const raw = objectAt(value, 'extensions');
  if (raw === undefined) return {};
  const names = Object.keys(raw);
  if (names.length > SLIDING_LIMITS.extensions) throw invalid(`'extensions' names more than ${SLIDING_LIMITS.extensions} extensions`);
  // Built with fromEntries: a name such as `__proto__` stays an ordinary key.
  return Object.fromEntries(names.flatMap((name) => {
    const config = objectAt(raw[name], `extensions.${name}`);
    return config === undefined ? [] : [[name, config] as const];
  }));
};

/** The request's query parameters (only the unstable form reads them). */
export interface SlidingSyncQuery {
  readonly pos?: string;
  readonly timeout?: string;
  readonly setPresence?: string;
}

/** A query's timeout is text; the body's a number. */
const timeoutOf = (value: JsonValue | undefined, path: string): number => {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'string' && path === 'query timeout') {
    if (!/^\d{1,15}$/.test(value)) throw invalid("'timeout' must be a non-negative integer");
    return Math.min(Number(value), MAX_SYNC_TIMEOUT_MS);
  }
  if (typeof value !== 'number' || !Number.isInteger(value)) throw badJson("'timeout' must be an integer");
  if (value < 0) throw invalid("'timeout' must not be negative");
  return Math.min(value, MAX_SYNC_TIMEOUT_MS);
};

export const parseSlidingSyncRequest = (
  form: SlidingSyncForm, body: unknown, query: SlidingSyncQuery, userId: string,
): SlidingSyncRequest => {
  if (!isJsonObject(body as JsonValue)) throw badJson('The request body must be a JSON object');
  const raw = body as JsonObject;
  const pos = form === 'v4' ? stringAt(raw.pos, 'pos', SLIDING_LIMITS.posBytes) : stringAt(query.pos, 'pos', SLIDING_LIMITS.posBytes);
  const timeoutMs = form === 'v4' ? timeoutOf(raw.timeout, 'timeout') : timeoutOf(query.timeout, 'query timeout');
  const setPresence = form === 'v4' ? stringAt(raw.set_presence, 'set_presence', SLIDING_LIMITS.posBytes) : query.setPresence;
  if (setPresence !== undefined && !PRESENCE.has(setPresence)) throw invalid("'set_presence' must be online, offline or unavailable");

  const rawLists = objectAt(raw.lists, 'lists') ?? {};
  const listNames = Object.keys(rawLists);
  if (listNames.length > SLIDING_LIMITS.lists) throw invalid(`'lists' has more than ${SLIDING_LIMITS.lists} lists`);
  const lists: Record<string, SlidingListConfig> = Object.fromEntries(listNames.map((name) => {
    if (name === '' || utf8Length(name) > SLIDING_LIMITS.listNameBytes) throw invalid(`A list name must be 1 to ${SLIDING_LIMITS.listNameBytes} bytes`);
    return [name, listOf(rawLists[name]!, name, form, userId)] as const;
  }));

  const rawSubscriptions = objectAt(raw.room_subscriptions, 'room_subscriptions') ?? {};
  const roomIds = Object.keys(rawSubscriptions);
  if (roomIds.length > SLIDING_LIMITS.roomSubscriptions) {
    throw invalid(`'room_subscriptions' has more than ${SLIDING_LIMITS.roomSubscriptions} rooms`);
  }
  const roomSubscriptions: Record<string, RoomConfig> = Object.fromEntries(roomIds.map((roomId) => {
    if (!isRoomId(roomId)) throw invalid(`'room_subscriptions' names '${roomId}', which is not a room id`);
    const config = objectAt(rawSubscriptions[roomId], `room_subscriptions.${roomId}`);
    if (config === undefined) throw badJson(`'room_subscriptions.${roomId}' must be an object`);
    return [roomId, roomConfigOf(config, `room_subscriptions.${roomId}`, form, userId)] as const;
  }));

  return {
    connId: stringAt(raw.conn_id, 'conn_id', SLIDING_LIMITS.connIdBytes) ?? '',
    ...(pos === undefined || pos === '' ? {} : { pos }),
    timeoutMs,
    ...(setPresence === undefined ? {} : { setPresence }),
    lists,
    roomSubscriptions,
    extensions: extensionsOf(raw.extensions),
  };
};
