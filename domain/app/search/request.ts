/**
 * Parsing `POST /search` (search.yaml) into a bounded request: every value the client chooses is
 * checked and capped here, before anything is read. Wrong shapes are M_BAD_JSON, values out of
 * range M_INVALID_PARAM; a body naming no `room_events` is Synapse's 400 "Invalid search query".
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';

export const SEARCH_KEY_NAMES = ['content.body', 'content.name', 'content.topic'] as const;
export type SearchKey = (typeof SEARCH_KEY_NAMES)[number];

/** Synapse's default page size. */
export const DEFAULT_SEARCH_LIMIT = 10;
export const MAX_SEARCH_LIMIT = 100;
/** search.yaml: before_limit and after_limit default to 5. */
export const DEFAULT_CONTEXT_LIMIT = 5;
export const MAX_CONTEXT_LIMIT = 50;
export const MAX_SEARCH_TERM_LENGTH = 1000;
/** Entries of one filter list (rooms, senders, types and their negations). */
export const MAX_FILTER_ENTRIES = 1000;
const MAX_FILTER_ENTRY_LENGTH = 255;

export interface SearchRequest {
  readonly searchTerm: string;
  readonly keys: readonly SearchKey[];
  readonly rooms?: readonly string[];
  readonly notRooms: readonly string[];
  readonly senders?: readonly string[];
  readonly notSenders: readonly string[];
  readonly types?: readonly string[];
  readonly notTypes: readonly string[];
  readonly containsUrl?: boolean;
  readonly limit: number;
  readonly orderBy: 'rank' | 'recent';
  readonly eventContext?: { readonly beforeLimit: number; readonly afterLimit: number; readonly includeProfile: boolean };
  readonly includeState: boolean;
  readonly groupBy: readonly ('room_id' | 'sender')[];
}

const badJson = (message: string): MatrixError => new MatrixError('M_BAD_JSON', 400, message);
const invalidParam = (message: string): MatrixError => new MatrixError('M_INVALID_PARAM', 400, message);

const objectAt = (parent: JsonObject, name: string, path: string): JsonObject | undefined => {
  const value = parent[name];
  if (value === undefined) return undefined;
  if (!isJsonObject(value)) throw badJson(`'${path}' must be an object`);
  return value;
};

const booleanAt = (parent: JsonObject, name: string, path: string, fallback: boolean): boolean => {
  const value = parent[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw badJson(`'${path}' must be a boolean`);
  return value;
};

/** A non-negative integer, capped at `max` (a larger page than the server serves is not an error). */
const countAt = (parent: JsonObject, name: string, path: string, fallback: number, max: number): number => {
  const value = parent[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw badJson(`'${path}' must be an integer`);
  if (value < 0) throw invalidParam(`'${path}' must not be negative`);
  return Math.min(value, max);
};

const stringsAt = (parent: JsonObject, name: string, path: string): string[] | undefined => {
  const value = parent[name];
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((entry) => typeof entry === 'string')) throw badJson(`'${path}' must be an array of strings`);
  if (value.length > MAX_FILTER_ENTRIES) throw invalidParam(`'${path}' may hold at most ${MAX_FILTER_ENTRIES} entries`);
  if (value.some((entry) => entry.length > MAX_FILTER_ENTRY_LENGTH)) throw invalidParam(`'${path}' entries may be at most ${MAX_FILTER_ENTRY_LENGTH} characters`);
  return value;
};

const parseKeys = (category: JsonObject): SearchKey[] => {
  const keys = stringsAt(category, 'keys', 'keys');
  if (keys === undefined) return [...SEARCH_KEY_NAMES];
  const unknown = keys.find((key) => !(SEARCH_KEY_NAMES as readonly string[]).includes(key));
  if (unknown !== undefined) throw invalidParam(`Unknown search key '${unknown}': one of ${SEARCH_KEY_NAMES.join(', ')}`);
  return [...new Set(keys)] as SearchKey[];
};

const parseGroupBy = (category: JsonObject): ('room_id' | 'sender')[] => {
  const groupings = objectAt(category, 'groupings', 'groupings');
  const groupBy = groupings?.group_by;
  if (groupBy === undefined) return [];
  if (!Array.isArray(groupBy) || groupBy.length > 2) throw badJson("'groupings.group_by' must be an array of at most 2 groups");
  const keys = groupBy.map((group) => {
    if (!isJsonObject(group) || (group.key !== undefined && typeof group.key !== 'string')) throw badJson("'groupings.group_by' entries must be objects with a string 'key'");
    if (group.key !== 'room_id' && group.key !== 'sender') throw invalidParam("'groupings.group_by' keys are 'room_id' or 'sender'");
    return group.key;
  });
  return [...new Set(keys)];
};

export const parseSearchRequest = (body: unknown): SearchRequest => {
  if (!isJsonObject(body)) throw badJson('The body must be a JSON object');
  const categories = objectAt(body, 'search_categories', 'search_categories');
  if (categories === undefined) throw badJson("Missing 'search_categories'");
  const category = objectAt(categories, 'room_events', 'search_categories.room_events');
  // Synapse answers any other category (or none) this way.
  if (category === undefined) throw new MatrixError('M_UNKNOWN', 400, 'Invalid search query');
  const searchTerm = category.search_term;
  if (typeof searchTerm !== 'string') throw badJson("'search_term' must be a string");
  if (searchTerm.length > MAX_SEARCH_TERM_LENGTH) throw invalidParam(`'search_term' may be at most ${MAX_SEARCH_TERM_LENGTH} characters`);
  const orderBy = category.order_by ?? 'rank';
  if (orderBy !== 'rank' && orderBy !== 'recent') throw invalidParam("'order_by' must be 'rank' or 'recent'");
  const filter = objectAt(category, 'filter', 'filter') ?? {};
  const context = objectAt(category, 'event_context', 'event_context');
  const rooms = stringsAt(filter, 'rooms', 'filter.rooms');
  const senders = stringsAt(filter, 'senders', 'filter.senders');
  const types = stringsAt(filter, 'types', 'filter.types');
  const containsUrl = filter.contains_url === undefined ? undefined : booleanAt(filter, 'contains_url', 'filter.contains_url', false);
  return {
    searchTerm,
    keys: parseKeys(category),
    ...(rooms === undefined ? {} : { rooms }),
    notRooms: stringsAt(filter, 'not_rooms', 'filter.not_rooms') ?? [],
    ...(senders === undefined ? {} : { senders }),
    notSenders: stringsAt(filter, 'not_senders', 'filter.not_senders') ?? [],
    ...(types === undefined ? {} : { types }),
    notTypes: stringsAt(filter, 'not_types', 'filter.not_types') ?? [],
    ...(containsUrl === undefined ? {} : { containsUrl }),
    limit: countAt(filter, 'limit', 'filter.limit', DEFAULT_SEARCH_LIMIT, MAX_SEARCH_LIMIT),
    orderBy,
    ...(context === undefined ? {} : {
      eventContext: {
        beforeLimit: countAt(context, 'before_limit', 'event_context.before_limit', DEFAULT_CONTEXT_LIMIT, MAX_CONTEXT_LIMIT),
        afterLimit: countAt(context, 'after_limit', 'event_context.after_limit', DEFAULT_CONTEXT_LIMIT, MAX_CONTEXT_LIMIT),
        includeProfile: booleanAt(context, 'include_profile', 'event_context.include_profile', false),
      },
    }),
    includeState: booleanAt(category, 'include_state', 'include_state', false),
    groupBy: parseGroupBy(category),
  };
};

/** Where the next page starts: an offset into the ranking, or below the last (timestamp, event id) of `recent`. */
export type SearchBatch = { readonly skip: number } | { readonly ts: number; readonly eventId: string };

export const encodeBatch = (batch: SearchBatch): string =>
  Buffer.from(JSON.stringify('skip' in batch ? ['r', batch.skip] : ['t', batch.ts, batch.eventId])).toString('base64url');

export const decodeBatch = (text: string, orderBy: 'rank' | 'recent'): SearchBatch => {
  const invalid = invalidParam("Invalid 'next_batch'");
  if (text.length > 1000) throw invalid;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (!Array.isArray(value)) throw invalid;
  if (orderBy === 'rank' && value.length === 2 && value[0] === 'r' && Number.isSafeInteger(value[1]) && (value[1] as number) >= 0) {
    return { skip: value[1] as number };
  }
  if (orderBy === 'recent' && value.length === 3 && value[0] === 't' && Number.isSafeInteger(value[1]) && typeof value[2] === 'string') {
    return { ts: value[1] as number, eventId: value[2] };
  }
  throw invalid;
};
