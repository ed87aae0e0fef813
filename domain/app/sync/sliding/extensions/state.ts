/**
 * What a connection remembers for its extensions, kept by the connection per `pos` as plain JSON
 * under each extension's name: the sticky parameters; for account data and receipts, the stream
 * position up to which each room's changes were sent (Synapse's HaveSentRoom LIVE / PREVIOUSLY /
 * NEVER in one number: a room out of scope keeps its position and gets what it missed when it comes
 * back, a room never sent gets everything); for e2ee, the key counts last sent, so a change of them
 * alone is news. Bounded: beyond `MAX_ROOM_POSITIONS` the rooms sent longest ago are forgotten,
 * which only makes them be sent in full again (account data and receipts are latest-state, so a
 * repeat is harmless).
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../../../json.ts';
import { CONNECTION_LIMITS } from '../connections.ts';
import { NO_EXTENSIONS, type ScopedExtension, type StickyExtensions } from './config.ts';

/** As many rooms as a connection remembers sending: fewer would resend rooms in scope every time. */
export const MAX_ROOM_POSITIONS: number = CONNECTION_LIMITS.roomsPerConnection;

/** Room id → the stream position its changes were sent up to (oldest first). */
export type RoomPositions = Readonly<Record<string, number>>;

export interface KeyCounts {
  readonly oneTimeKeys: Readonly<Record<string, number>>;
  readonly unusedFallbackKeyTypes: readonly string[];
}

export interface ExtensionsState {
  readonly sticky: StickyExtensions;
  readonly accountData: RoomPositions;
  readonly receipts: RoomPositions;
  /** The e2ee counts of the last answer that carried them. */
  readonly keyCounts: KeyCounts | undefined;
}

export const NEW_CONNECTION: ExtensionsState = { sticky: NO_EXTENSIONS, accountData: {}, receipts: {}, keyCounts: undefined };

/** `positions` with `roomIds` sent up to `upTo`, moved to the newest end, bounded. */
export const recordSent = (positions: RoomPositions, roomIds: readonly string[], upTo: number, max = MAX_ROOM_POSITIONS): RoomPositions => {
  if (roomIds.length === 0) return positions;
  const sent = new Set(roomIds);
  const kept = Object.entries(positions).filter(([roomId]) => !sent.has(roomId));
  const entries = [...kept, ...[...sent].map((roomId) => [roomId, upTo] as const)];
  return Object.fromEntries(entries.slice(Math.max(0, entries.length - max)));
};

const scoped = (extension: ScopedExtension): JsonObject => ({ enabled: extension.enabled, lists: [...extension.lists], rooms: [...extension.rooms] });

export const encodeState = (state: ExtensionsState): Record<string, JsonValue> => ({
  to_device: { ...state.sticky.toDevice },
  e2ee: {
    ...state.sticky.e2ee,
    ...(state.keyCounts === undefined ? {} : {
      sent: { one_time_keys: { ...state.keyCounts.oneTimeKeys }, fallback_key_types: [...state.keyCounts.unusedFallbackKeyTypes] },
    }),
  },
  account_data: { ...scoped(state.sticky.accountData), sent: { ...state.accountData } },
  receipts: { ...scoped(state.sticky.receipts), sent: { ...state.receipts } },
  typing: scoped(state.sticky.typing),
});

const strings = (value: JsonValue | undefined, fallback: readonly string[]): readonly string[] =>
  Array.isArray(value) && value.every((entry) => typeof entry === 'string') ? value as string[] : fallback;

const bool = (value: JsonValue | undefined, fallback: boolean): boolean => (typeof value === 'boolean' ? value : fallback);

const numbers = (value: JsonValue | undefined): Record<string, number> =>
  isJsonObject(value) ? Object.fromEntries(Object.entries(value).filter((entry): entry is [string, number] => typeof entry[1] === 'number')) : {};

const decodeScoped = (value: JsonValue | undefined, fallback: ScopedExtension): ScopedExtension => {
  const object = isJsonObject(value) ? value : {};
  return { enabled: bool(object.enabled, fallback.enabled), lists: strings(object.lists, fallback.lists), rooms: strings(object.rooms, fallback.rooms) };
};

/** The state an earlier answer handed to the connection (anything unreadable counts as new). */
export const decodeState = (connection: Readonly<Record<string, JsonValue>>): ExtensionsState => {
  const object = (name: string): JsonObject => {
    const value = connection[name];
    return isJsonObject(value) ? value : {};
  };
  const toDevice = object('to_device');
  const e2ee = object('e2ee');
  const sent = isJsonObject(e2ee.sent) ? e2ee.sent : undefined;
  const limit = typeof toDevice.limit === 'number' ? toDevice.limit : NO_EXTENSIONS.toDevice.limit;
  return {
    sticky: {
      toDevice: { enabled: bool(toDevice.enabled, false), limit },
      e2ee: { enabled: bool(e2ee.enabled, false) },
      accountData: decodeScoped(connection.account_data, NO_EXTENSIONS.accountData),
      receipts: decodeScoped(connection.receipts, NO_EXTENSIONS.receipts),
      typing: decodeScoped(connection.typing, NO_EXTENSIONS.typing),
    },
    accountData: numbers(object('account_data').sent),
    receipts: numbers(object('receipts').sent),
    keyCounts: sent === undefined ? undefined : {
      oneTimeKeys: numbers(sent.one_time_keys), unusedFallbackKeyTypes: strings(sent.fallback_key_types, []),
    },
  };
};
