/**
 * The `extensions` of a sliding sync request (MSC4186; to-device MSC3885, e2ee MSC3884, account
 * data MSC3959, receipts MSC3960, typing MSC3961), parsed and bounded. Parameters are sticky (MSC3575
 * § Sticky request parameters): what a request leaves out keeps its value from the connection's
 * previous request, so a client enables an extension once. Unknown extensions are ignored, as the
 * MSC asks (a newer client must work against an older server). `to_device.since` is not sticky: it
 * acknowledges messages, so only the request that carries it counts.
 */
import { MatrixError } from '../../../../errors.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../../json.ts';
import { fitsBytes } from '../../../../limits.ts';

/** Synapse's cap on to-device messages per response, and its default. */
export const TO_DEVICE_LIMIT = 100;
/** List names and room ids one extension may name: as many lists (Synapse's cap) and subscriptions as a request may have. */
export const MAX_SCOPE_ENTRIES = { lists: 100, rooms: 500 } as const;
/** Bytes of a list name (Synapse's `lists` keys are at most 64 characters) and of a room id. */
const MAX_LIST_NAME_BYTES = 64;
const MAX_ROOM_ID_BYTES = 255;
const STREAM_POSITION = /^\d{1,15}$/;

/** `lists` / `rooms` of a room-scoped extension: list names and room ids, `*` meaning all. */
export interface ExtensionScope {
  readonly lists: readonly string[];
  readonly rooms: readonly string[];
}

export interface ScopedExtension extends ExtensionScope {
  readonly enabled: boolean;
}

/** What the connection remembers of each extension's request (plain data: stored per position). */
export interface StickyExtensions {
  readonly toDevice: { readonly enabled: boolean; readonly limit: number };
  readonly e2ee: { readonly enabled: boolean };
  readonly accountData: ScopedExtension;
  readonly receipts: ScopedExtension;
  readonly typing: ScopedExtension;
}

/** This request's extensions: the sticky ones, and the to-device position it acknowledges. */
export interface ExtensionsRequest extends StickyExtensions {
  /** `to_device.since`: the `next_batch` of the answer the client holds (undefined: from the start). */
  readonly toDeviceSince: number | undefined;
}

/** `lists` and `rooms` default to every list and every subscription (Synapse's defaults). */
const ALL: ExtensionScope = { lists: ['*'], rooms: ['*'] };

export const NO_EXTENSIONS: StickyExtensions = {
  toDevice: { enabled: false, limit: TO_DEVICE_LIMIT },
  e2ee: { enabled: false },
  accountData: { enabled: false, ...ALL },
  receipts: { enabled: false, ...ALL },
  typing: { enabled: false, ...ALL },
};

const badJson = (message: string): MatrixError => new MatrixError('M_BAD_JSON', 400, message);

const objectAt = (value: JsonValue | undefined, path: string): JsonObject | undefined => {
  if (value === undefined || value === null) return undefined;
  if (!isJsonObject(value)) throw badJson(`'${path}' must be an object`);
  return value;
};

const enabledAt = (value: JsonObject, path: string, remembered: boolean): boolean => {
  const enabled = value.enabled;
  if (enabled === undefined || enabled === null) return remembered;
  if (typeof enabled !== 'boolean') throw badJson(`'${path}.enabled' must be a boolean`);
  return enabled;
};

const namesAt = (value: JsonObject, key: 'lists' | 'rooms', path: string, remembered: readonly string[]): readonly string[] => {
  const names = value[key];
  if (names === undefined) return remembered;
  // An explicit null names nothing, as Synapse reads it.
  if (names === null) return [];
  if (!Array.isArray(names)) throw badJson(`'${path}.${key}' must be an array of strings`);
  if (names.length > MAX_SCOPE_ENTRIES[key]) {
    throw new MatrixError('M_INVALID_PARAM', 400, `'${path}.${key}' may name at most ${MAX_SCOPE_ENTRIES[key]} entries`);
  }
  const maxBytes = key === 'lists' ? MAX_LIST_NAME_BYTES : MAX_ROOM_ID_BYTES;
  for (const name of names) {
    if (typeof name !== 'string') throw badJson(`'${path}.${key}' must be an array of strings`);
    if (!fitsBytes(name, maxBytes)) throw new MatrixError('M_INVALID_PARAM', 400, `'${path}.${key}' entries are at most ${maxBytes} bytes`);
  }
  return [...new Set(names as string[])];
};

const scopedAt = (value: JsonObject | undefined, path: string, remembered: ScopedExtension): ScopedExtension =>
  value === undefined ? remembered : {
    enabled: enabledAt(value, path, remembered.enabled),
    lists: namesAt(value, 'lists', path, remembered.lists),
    rooms: namesAt(value, 'rooms', path, remembered.rooms),
  };

const limitAt = (value: JsonObject, remembered: number): number => {
  const limit = value.limit;
  if (limit === undefined || limit === null) return remembered;
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit)) throw badJson("'extensions.to_device.limit' must be an integer");
  if (limit < 1) throw new MatrixError('M_INVALID_PARAM', 400, "'extensions.to_device.limit' must be at least 1");
  return Math.min(limit, TO_DEVICE_LIMIT);
};

const sinceAt = (value: JsonObject | undefined): number | undefined => {
  const since = value?.since;
  if (since === undefined || since === null) return undefined;
  // Opaque to clients; ours is the to-device stream position (Synapse refuses a non-integer as bad JSON).
  if (typeof since !== 'string' || !STREAM_POSITION.test(since)) throw badJson("'extensions.to_device.since' must be a next_batch this server returned");
  return Number(since);
};

/**
 * The request's `extensions` (one object per extension name) over what the connection remembers
 * (`NO_EXTENSIONS` on a new connection). Throws M_BAD_JSON / M_INVALID_PARAM naming the field.
 */
export const parseExtensions = (
  body: Readonly<Record<string, JsonValue>>, remembered: StickyExtensions = NO_EXTENSIONS,
): ExtensionsRequest => {
  const toDevice = objectAt(body.to_device, 'extensions.to_device');
  const e2ee = objectAt(body.e2ee, 'extensions.e2ee');
  return {
    toDevice: toDevice === undefined ? remembered.toDevice : {
      enabled: enabledAt(toDevice, 'extensions.to_device', remembered.toDevice.enabled),
      limit: limitAt(toDevice, remembered.toDevice.limit),
    },
    toDeviceSince: sinceAt(toDevice),
    e2ee: e2ee === undefined ? remembered.e2ee : { enabled: enabledAt(e2ee, 'extensions.e2ee', remembered.e2ee.enabled) },
    accountData: scopedAt(objectAt(body.account_data, 'extensions.account_data'), 'extensions.account_data', remembered.accountData),
    receipts: scopedAt(objectAt(body.receipts, 'extensions.receipts'), 'extensions.receipts', remembered.receipts),
    typing: scopedAt(objectAt(body.typing, 'extensions.typing'), 'extensions.typing', remembered.typing),
  };
};

/** What of a request the connection keeps for the next one. */
export const stickyPart = (request: ExtensionsRequest): StickyExtensions => ({
  toDevice: request.toDevice, e2ee: request.e2ee, accountData: request.accountData, receipts: request.receipts, typing: request.typing,
});
