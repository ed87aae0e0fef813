/**
 * Server-side key backups (client-server-api § Server-side key backups, key_backup.yaml): backup
 * versions (`/room_keys/version`) and the session keys in them (`/room_keys/keys`). The server
 * stores `auth_data` and `session_data` as given: they are encrypted or signed by the clients.
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../json.ts';
import { LIMITS } from '../../limits.ts';
import type { BackedUpRoomKey, KeyBackupSummary, KeyBackupVersion, RoomKeySelection } from '../../ports/userData.ts';
import type { Requester, UserDataContext } from './context.ts';
import { badJson, invalidParam, notFound, requireAtMost, requireRoomId } from './errors.ts';

const unknownVersion = (): MatrixError => notFound('Unknown backup version');

const requireVersion = (version: string | undefined): string => {
  if (version === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'version'");
  return version;
};

const backupConfig = (body: JsonObject): { algorithm: string; authData: JsonObject } => {
  if (typeof body.algorithm !== 'string' || body.algorithm === '') throw badJson("'algorithm' must be a string");
  if (!isJsonObject(body.auth_data)) throw badJson("'auth_data' must be an object");
  return { algorithm: body.algorithm, authData: body.auth_data };
};

const versionInfo = (v: KeyBackupVersion): JsonObject => ({
  algorithm: v.algorithm, auth_data: v.authData, count: v.count, etag: v.etag, version: v.version,
});

/** `POST /room_keys/version`: the new backup becomes the current one. */
export const createBackupVersion = async (ctx: UserDataContext, requester: Requester, body: JsonObject): Promise<JsonObject> => {
  const { algorithm, authData } = backupConfig(body);
  return { version: await ctx.stores.keyBackups.createVersion(requester.userId, algorithm, authData) };
};

/** `GET /room_keys/version[/{version}]`: the named backup, or the current one. */
export const getBackupVersion = async (ctx: UserDataContext, requester: Requester, version: string | undefined): Promise<JsonObject> => {
  const found = await ctx.stores.keyBackups.getVersion(requester.userId, version);
  if (found === undefined) throw version === undefined ? notFound('No current backup version') : unknownVersion();
  return versionInfo(found);
};

/** `PUT /room_keys/version/{version}`: only `auth_data` can change. */
export const updateBackupVersion = async (
  ctx: UserDataContext, requester: Requester, version: string, body: JsonObject,
): Promise<JsonObject> => {
  const { algorithm, authData } = backupConfig(body);
  if (body.version !== undefined && body.version !== version) {
    throw invalidParam("'version' in the body does not match the version in the path");
  }
  const existing = await ctx.stores.keyBackups.getVersion(requester.userId, version);
  if (existing === undefined) throw unknownVersion();
  if (existing.algorithm !== algorithm) throw invalidParam('Algorithm does not match');
  if (!(await ctx.stores.keyBackups.updateVersion(requester.userId, version, authData))) throw unknownVersion();
  return {};
};

/** `DELETE /room_keys/version/{version}`: deleting a deleted backup succeeds again. */
export const deleteBackupVersion = async (ctx: UserDataContext, requester: Requester, version: string): Promise<JsonObject> => {
  if (!(await ctx.stores.keyBackups.deleteVersion(requester.userId, version))) throw unknownVersion();
  return {};
};

const count = (value: JsonValue | undefined, name: string): number => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw badJson(`'${name}' must be a non-negative integer`);
  return value;
};

/** One KeyBackupData object (key_backup_data.yaml). */
const backedUpKey = (roomId: string, sessionId: string, value: JsonValue): BackedUpRoomKey => {
  if (!isJsonObject(value)) throw badJson(`The key of session ${JSON.stringify(sessionId)} must be an object`);
  if (typeof value.is_verified !== 'boolean') throw badJson("'is_verified' must be a boolean");
  if (!isJsonObject(value.session_data)) throw badJson("'session_data' must be an object");
  return {
    roomId, sessionId,
    firstMessageIndex: count(value.first_message_index, 'first_message_index'),
    forwardedCount: count(value.forwarded_count, 'forwarded_count'),
    isVerified: value.is_verified,
    sessionData: value.session_data,
  };
};

/** A room's `{ sessions: { sessionId: KeyBackupData } }` (room_key_backup.yaml). */
const roomKeys = (roomId: string, value: JsonValue): BackedUpRoomKey[] => {
  requireRoomId(roomId);
  if (!isJsonObject(value) || !isJsonObject(value.sessions)) throw badJson(`The keys of room ${roomId} must be { sessions: {…} }`);
  return Object.entries(value.sessions).map(([sessionId, key]) => backedUpKey(roomId, sessionId, key));
};

/** The keys a PUT carries, by what its path names. */
const keysOfUpload = (which: RoomKeySelection, body: JsonObject): BackedUpRoomKey[] => {
  if (which.roomId !== undefined && which.sessionId !== undefined) {
    requireRoomId(which.roomId);
    return [backedUpKey(which.roomId, which.sessionId, body)];
  }
  if (which.roomId !== undefined) return roomKeys(which.roomId, body);
  if (!isJsonObject(body.rooms)) throw badJson("'rooms' must be an object");
  return Object.entries(body.rooms).flatMap(([roomId, room]) => roomKeys(roomId, room));
};

/**
 * Whether the stored key beats the candidate (§ Server-side key backups): a verified key beats an
 * unverified one, then the lower `first_message_index` wins, then the lower `forwarded_count`.
 * On a full tie the stored key stays, so a repeated upload leaves the backup (and its etag) as is.
 */
export const keepStoredRoomKey = (stored: BackedUpRoomKey, candidate: BackedUpRoomKey): boolean => {
  if (stored.isVerified !== candidate.isVerified) return stored.isVerified;
  if (stored.firstMessageIndex !== candidate.firstMessageIndex) return stored.firstMessageIndex < candidate.firstMessageIndex;
  return stored.forwardedCount <= candidate.forwardedCount;
};

const summaryBody = (summary: KeyBackupSummary): JsonObject => ({ etag: summary.etag, count: summary.count });

/** `PUT /room_keys/keys[/{roomId}[/{sessionId}]]`: only into the current backup. */
export const putRoomKeys = async (
  ctx: UserDataContext, requester: Requester, version: string | undefined, which: RoomKeySelection, body: JsonObject,
): Promise<JsonObject> => {
  const wanted = requireVersion(version);
  const keys = keysOfUpload(which, body);
  requireAtMost(keys.length, LIMITS.roomKeysPerUpload, 'sessions per backup upload');
  const outcome = await ctx.stores.keyBackups.putKeys(requester.userId, wanted, keys, keepStoredRoomKey);
  if ('stored' in outcome) return summaryBody(outcome.stored);
  if (outcome.latestVersion === undefined) throw unknownVersion();
  throw new MatrixError('M_WRONG_ROOM_KEYS_VERSION', 403, 'Wrong backup version.', { current_version: outcome.latestVersion });
};

const keyBody = (key: BackedUpRoomKey): JsonObject => ({
  first_message_index: key.firstMessageIndex,
  forwarded_count: key.forwardedCount,
  is_verified: key.isVerified,
  session_data: key.sessionData,
});

/** `GET /room_keys/keys[/{roomId}[/{sessionId}]]`: from any existing backup. */
export const getRoomKeys = async (
  ctx: UserDataContext, requester: Requester, version: string | undefined, which: RoomKeySelection,
): Promise<JsonObject> => {
  const wanted = requireVersion(version);
  if ((await ctx.stores.keyBackups.getVersion(requester.userId, wanted)) === undefined) throw unknownVersion();
  const keys = await ctx.stores.keyBackups.getKeys(requester.userId, wanted, which);
  if (which.sessionId !== undefined) {
    if (keys[0] === undefined) throw notFound('Key not found.');
    return keyBody(keys[0]);
  }
  const rooms: Record<string, JsonObject> = {};
  for (const key of keys) {
    rooms[key.roomId] ??= {};
    rooms[key.roomId]![key.sessionId] = keyBody(key);
  }
  // A room without keys answers `{ "sessions": {} }` (key_backup.yaml).
  if (which.roomId !== undefined) return { sessions: rooms[which.roomId] ?? {} };
  return { rooms: Object.fromEntries(Object.entries(rooms).map(([roomId, sessions]) => [roomId, { sessions }])) };
};

/** `DELETE /room_keys/keys[/{roomId}[/{sessionId}]]`. */
export const deleteRoomKeys = async (
  ctx: UserDataContext, requester: Requester, version: string | undefined, which: RoomKeySelection,
): Promise<JsonObject> => {
  const summary = await ctx.stores.keyBackups.deleteKeys(requester.userId, requireVersion(version), which);
  if (summary === undefined) throw unknownVersion();
  return summaryBody(summary);
};
