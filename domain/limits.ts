/**
 * The bounds on every value a client (or, later, a remote server) chooses, in one table, and the one
 * check of JSON shape both request bodies and events use. A value past these bounds is refused
 * before anything is appended to the log or written to a store: an over-long key cannot enter a
 * PostgreSQL btree index (its row limit is about 2.7 KB), and one record a projection cannot apply
 * stops every later record of its partition.
 *
 * Sources: the spec's identifier grammar (appendices.md: user ids, room ids, aliases and event ids
 * at most 255 bytes, MAX_IDENTIFIER_BYTES), its event size limits (client-server-api § Size limits:
 * `type`, `state_key` 255 bytes, a PDU 65,536 bytes: domain/events/limits.ts), the push module
 * (`app_id` 64 characters, `pushkey` 512 bytes); where the spec is silent (transaction ids, device
 * ids, key ids, tags), the identifier bound.
 */
import { utf8Length } from './ids/index.ts';
import type { JsonValue } from './json.ts';

export const LIMITS = {
  /**
   * Any one segment of a request path, percent-decoded: every identifier a path carries (room and
   * user ids, event types, state keys, transaction ids, account-data types, tags, device ids, key
   * ids, backup versions and session ids, filter ids, push rule ids, profile keys, aliases) is
   * bounded by 255 bytes.
   */
  pathSegmentBytes: 255,
  /** Device ids, chosen by the client at login or registration (as map keys, jsonKeyBytes bounds them). */
  deviceIdBytes: 255,
  /**
   * Any member name of a JSON object a client sends. Matrix maps are keyed by identifiers (user
   * ids, device ids, key ids, room ids, session ids, event types), all at most 255 bytes.
   */
  jsonKeyBytes: 255,
  /**
   * Nesting of any JSON a client sends, and of an event's content. Matrix's own schemas nest a
   * handful of levels; 128 leaves room for clients' custom data while keeping every recursive
   * consumer (canonical JSON, jsonb, the clients themselves) far from its stack limit.
   */
  jsonDepth: 128,
  /** Push gateway app ids (push.yaml: "Max length, 64 chars"). */
  pusherAppIdChars: 64,
  /** Push keys (push.yaml: "Max length, 512 bytes"). */
  pushkeyBytes: 512,
  /**
   * A push rule's glob pattern. Matching costs value length × pattern length for every event the
   * rule is evaluated on; keyword and name patterns are a few words.
   */
  pushRulePatternBytes: 255,
  /**
   * Entries one request may name, where each entry costs the server store work (a lookup, a claim
   * transaction, a delivery): without a bound one request of a few megabytes ties the server up
   * for seconds (a 20,000-entry key query or claim took about 8 s). Synapse has no such bounds;
   * these sit well above what clients send (they share room keys in to-device batches and back
   * up keys in batches of hundreds), and a client past them splits its request. Refused with
   * 413 M_TOO_LARGE, as an over-large body is.
   *
   * `/keys/query`: users named plus device ids named (a user with an empty list, all their
   * devices, counts once). Large enough for every member of a very large room at once.
   */
  keysQueryEntries: 10_000,
  /** `/keys/claim`: devices named, across all users (each claim is a transaction). */
  keysClaimEntries: 5_000,
  /** `/sendToDevice`: messages named (user × device id; `*` counts once per user). */
  toDeviceMessages: 10_000,
  /**
   * `/keys/signatures/upload`: signed objects (each is checked against stored keys and its
   * signatures verified, which costs CPU). A client signs its own new device or master key, or
   * the master key of a user it verifies: a few at a time.
   */
  signedObjectsPerUpload: 1_000,
  /** `PUT /room_keys/keys`: sessions in one backup upload. */
  roomKeysPerUpload: 10_000,
  /**
   * A user's own push rules (all kinds together; the server defaults are not counted). The rule
   * set is read and evaluated for every event the user may be notified of.
   */
  pushRulesPerUser: 1_000,
  /**
   * Entries of any one list in a filter (`rooms`, `not_rooms`, `types`, `senders`, `event_fields`…):
   * each list is searched, and each type pattern matched, for every room and event a /sync or
   * /messages considers under the filter. Clients' filters name a handful of types; 1,000 rooms
   * is past what a client would list rather than leave the list out.
   */
  filterListEntries: 1_000,
  /** Conditions of one push rule: each is evaluated for every event the rule meets. */
  pushRuleConditions: 64,
} as const;

/** What makes a JSON value unacceptable, with the JSON path of the first offending value. */
export interface JsonShapeProblem {
  readonly reason: string;
}

export interface JsonShapeChecks {
  /** Deepest nesting allowed; the value itself is level 1 when it is an object or array. */
  readonly maxDepth: number;
  /** Longest object member name in UTF-8 bytes (unbounded when absent). */
  readonly maxKeyBytes?: number;
  /** Refuse strings (and member names) holding a lone surrogate: UTF-8 cannot encode one. */
  readonly wellFormedStrings?: boolean;
  /** Refuse NaN and ±Infinity (what `1e400` parses to): JSON cannot write them back. */
  readonly finiteNumbers?: boolean;
}

/**
 * Walks a JSON value once, without recursion (so no nesting can overflow the stack), and answers
 * the first problem found, or undefined. Containers are visited with their depth on an explicit
 * stack.
 */
export const jsonShapeProblem = (root: JsonValue, checks: JsonShapeChecks): JsonShapeProblem | undefined => {
  const values: JsonValue[] = [root];
  const depths: number[] = [1];
  const { maxDepth, maxKeyBytes, wellFormedStrings = false, finiteNumbers = false } = checks;
  while (values.length > 0) {
    const value = values.pop()!;
    const depth = depths.pop()!;
    if (typeof value === 'string') {
      if (wellFormedStrings && !value.isWellFormed()) return { reason: 'a string holds a lone surrogate (not valid Unicode)' };
      continue;
    }
    if (typeof value === 'number') {
      if (finiteNumbers && !Number.isFinite(value)) return { reason: 'a number is out of range' };
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth > maxDepth) return { reason: `JSON nests deeper than ${maxDepth} levels` };
    if (Array.isArray(value)) {
      for (const item of value) {
        if (item !== null && typeof item === 'object') {
          values.push(item);
          depths.push(depth + 1);
        } else if (typeof item === 'string' || typeof item === 'number') {
          values.push(item);
          depths.push(depth);
        }
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      if (maxKeyBytes !== undefined && key.length > maxKeyBytes / 3 && utf8Length(key) > maxKeyBytes) {
        return { reason: `an object member name is longer than ${maxKeyBytes} bytes` };
      }
      if (wellFormedStrings && !key.isWellFormed()) return { reason: 'an object member name holds a lone surrogate (not valid Unicode)' };
      const item = value[key]!;
      if (item !== null && typeof item === 'object') {
        values.push(item);
        depths.push(depth + 1);
      } else if (typeof item === 'string' || typeof item === 'number') {
        values.push(item);
        depths.push(depth);
      }
    }
  }
  return undefined;
};

/** The checks every JSON request body passes (gateways/http's body parser). */
export const REQUEST_JSON_CHECKS: JsonShapeChecks = {
  maxDepth: LIMITS.jsonDepth,
  maxKeyBytes: LIMITS.jsonKeyBytes,
  wellFormedStrings: true,
  finiteNumbers: true,
};

/** Whether a string fits a byte bound (UTF-8), measuring only when its length leaves doubt. */
export const fitsBytes = (text: string, maxBytes: number): boolean =>
  text.length <= maxBytes / 3 || (text.length <= maxBytes && utf8Length(text) <= maxBytes);
