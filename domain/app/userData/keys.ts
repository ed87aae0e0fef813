/**
 * End-to-end encryption keys (client-server-api § Key management API, keys.yaml): upload, query,
 * claim and changes. Device keys are stored and served verbatim: the server never checks or alters
 * their own signatures; cross-signing signatures are checked and merged in (crossSigning.ts).
 * Remote users' keys are asked of their servers (server-server-api § End-to-End Encryption), all
 * servers at once; a server that fails is reported under `failures` (keys.yaml), as Synapse does.
 */
import { isMatrixError, MatrixError } from '../../errors.ts';
import { isUserId, userServerName } from '../../ids/index.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../json.ts';
import { LIMITS } from '../../limits.ts';
import type { Requester, UserDataContext } from './context.ts';
import { visibleSignatures } from './crossSigning.ts';
import { publicKeyOf, withSignatures } from './crossSigningKeys.ts';
import { badJson, invalidParam, requireAtMost } from './errors.ts';
import { sendDeviceListUpdates } from './federationEdus.ts';
import { turnTaker } from './turns.ts';

type Key = JsonObject | string;

const keyMap = (value: JsonValue | undefined, name: string): Map<string, Key> => {
  if (value === undefined || value === null) return new Map();
  if (!isJsonObject(value)) throw badJson(`'${name}' must be an object`);
  const keys = new Map<string, Key>();
  for (const [keyId, key] of Object.entries(value)) {
    if (!/^[^:]+:.+$/.test(keyId)) throw badJson(`'${name}' key ids must be algorithm:key_id, not ${JSON.stringify(keyId)}`);
    if (typeof key !== 'string' && !isJsonObject(key)) throw badJson(`'${name}.${keyId}' must be a string or an object`);
    keys.set(keyId, key);
  }
  return keys;
};

const checkDeviceKeys = (requester: Requester, keys: JsonValue): JsonObject => {
  if (!isJsonObject(keys)) throw badJson("'device_keys' must be an object");
  if (keys.user_id !== requester.userId || keys.device_id !== requester.deviceId) {
    throw invalidParam("'device_keys' user_id and device_id must match the requester's");
  }
  if (!Array.isArray(keys.algorithms) || !keys.algorithms.every((a) => typeof a === 'string')) {
    throw badJson("'device_keys.algorithms' must be an array of strings");
  }
  if (!isJsonObject(keys.keys) || !Object.values(keys.keys).every((k) => typeof k === 'string')) {
    throw badJson("'device_keys.keys' must map key ids to strings");
  }
  if (!isJsonObject(keys.signatures)) throw badJson("'device_keys.signatures' must be an object");
  return keys;
};

/** Tells the uploader's other devices and everyone sharing a room that the device list changed. */
const deviceListChanged = async (ctx: UserDataContext, userId: string): Promise<void> => {
  ctx.notifier.notify([...(await ctx.membership.usersSharingRoomsWith(userId)), userId]);
};

const keyCounts = async (ctx: UserDataContext, requester: Requester): Promise<JsonObject> => ({
  // Clients read a missing signed_curve25519 count as "unknown" rather than 0 (as Synapse notes).
  signed_curve25519: 0,
  ...(await ctx.stores.keys.oneTimeKeyCounts(requester.userId, requester.deviceId)),
});

/**
 * `POST /keys/upload`. Keys are a device's: an application service acting without `device_id`
 * has none to upload them for (application-service-api.md § Identity assertion: such requests
 * "fail"; Synapse's message, with the errcode identity assertion gives device trouble).
 */
export const uploadKeys = async (ctx: UserDataContext, requester: Requester, body: JsonObject): Promise<JsonObject> => {
  if (requester.deviceId === '') throw new MatrixError('M_UNKNOWN_DEVICE', 400, 'To upload keys, you must pass device_id when authenticating');
  const deviceKeys = body.device_keys === undefined || body.device_keys === null ? undefined : checkDeviceKeys(requester, body.device_keys);
  const oneTimeKeys = keyMap(body.one_time_keys, 'one_time_keys');
  const fallbackKeys = keyMap(body.fallback_keys, 'fallback_keys');
  // One-time and fallback keys are stored before the device keys: a new device's first upload
  // carries all three, and the device-list change wakes other users' clients, which query the
  // device and claim a key at once. Stored the other way round, that claim can find no key, and
  // a client (matrix-sdk-crypto) then skips the device when it shares a room key.
  if (oneTimeKeys.size > 0) {
    const conflicts = await ctx.stores.keys.addOneTimeKeys(requester.userId, requester.deviceId, oneTimeKeys);
    if (conflicts.length > 0) throw invalidParam(`One-time key ${conflicts[0]} already exists with different content`);
  }
  if (fallbackKeys.size > 0) await ctx.stores.keys.setFallbackKeys(requester.userId, requester.deviceId, fallbackKeys);
  if (deviceKeys !== undefined && (await ctx.stores.keys.setDeviceKeys(requester.userId, requester.deviceId, deviceKeys))) {
    await deviceListChanged(ctx, requester.userId);
    await sendDeviceListUpdates(ctx, requester.userId, [requester.deviceId]);
  }
  return { one_time_key_counts: await keyCounts(ctx, requester) };
};

/** keys.yaml: "10 seconds is the recommended default"; a client may not hold a request longer than a minute. */
const DEFAULT_REMOTE_TIMEOUT_MS = 10_000;
const MAX_REMOTE_TIMEOUT_MS = 60_000;

const remoteTimeout = (value: JsonValue | undefined): number => {
  if (value === undefined || value === null) return DEFAULT_REMOTE_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw badJson("'timeout' must be a non-negative integer");
  return Math.max(1, Math.min(value, MAX_REMOTE_TIMEOUT_MS));
};

/** Synapse's `failures` entry: the status it would have answered, and why. */
const failureOf = (error: unknown): JsonObject => isMatrixError(error)
  ? { status: error.status, message: error.message }
  : { status: 503, message: 'Failed to reach the server' };

/** The request to `serverName`, begun when its first user is met. */
const byServer = <V>(remote: Map<string, Record<string, V>>, serverName: string): Record<string, V> => {
  let users = remote.get(serverName);
  if (users === undefined) remote.set(serverName, (users = {}));
  return users;
};

/**
 * Asks every server in `byServer` at once, within `timeoutMs` each; what each answers is handed to
 * `use`, and a server that fails (or that we cannot ask at all) lands in `failures`.
 */
const askServers = async <Q, A>(
  byServer: ReadonlyMap<string, Q>, failures: JsonObject, ask: ((serverName: string, query: Q) => Promise<A>) | undefined, use: (answer: A) => void,
): Promise<void> => {
  await Promise.all([...byServer].map(async ([serverName, query]) => {
    if (ask === undefined) {
      failures[serverName] = { status: 503, message: 'Federation is not available' };
      return;
    }
    try {
      use(await ask(serverName, query));
    } catch (error) {
      failures[serverName] = failureOf(error);
    }
  }));
};

/**
 * `POST /keys/query`: device keys of the named users (all their devices for an empty list), with
 * their cross-signing keys (since v1.1) and the stored signatures the requester may see.
 */
export const queryKeys = async (ctx: UserDataContext, requester: Requester, body: JsonObject): Promise<JsonObject> => {
  const wanted = body.device_keys;
  if (!isJsonObject(wanted)) throw badJson("'device_keys' must be an object");
  let named = 0;
  for (const deviceIds of Object.values(wanted)) named += 1 + (Array.isArray(deviceIds) ? deviceIds.length : 0);
  requireAtMost(named, LIMITS.keysQueryEntries, 'users and devices per /keys/query request');
  const deviceKeys: JsonObject = {};
  const failures: JsonObject = {};
  const masterKeys: JsonObject = {};
  const selfSigningKeys: JsonObject = {};
  const userSigningKeys: JsonObject = {};
  const timeoutMs = remoteTimeout(body.timeout);
  const remote = new Map<string, Record<string, readonly string[]>>();
  const turn = turnTaker();
  for (const [userId, deviceIds] of Object.entries(wanted)) {
    await turn();
    if (!isUserId(userId)) throw badJson(`Invalid user id ${JSON.stringify(userId)}`);
    if (!Array.isArray(deviceIds) || !deviceIds.every((id) => typeof id === 'string')) {
      throw badJson(`'device_keys.${userId}' must be an array of device ids`);
    }
    if (userServerName(userId) !== ctx.serverName) {
      byServer(remote, userServerName(userId))[userId] = deviceIds as string[];
      continue;
    }
    // The four reads of a user are independent: one round trip's wait instead of four, since a
    // query may name thousands of users (LIMITS.keysQueryEntries).
    const [deviceList, keys, signatures, crossSigning] = await Promise.all([
      ctx.devices.listDevices(userId),
      ctx.stores.keys.getDeviceKeys(userId, deviceIds as string[]),
      visibleSignatures(ctx, requester, userId),
      ctx.stores.crossSigning.getKeys(userId),
    ]);
    const devices = new Map(deviceList.map((device) => [device.deviceId, device]));
    const ofUser: JsonObject = {};
    for (const [deviceId, stored] of keys) {
      const device = devices.get(deviceId);
      if (device === undefined) continue;
      const unsigned = isJsonObject(stored.unsigned) ? stored.unsigned : {};
      ofUser[deviceId] = withSignatures({
        ...stored,
        unsigned: { ...unsigned, ...(device.displayName === undefined ? {} : { device_display_name: device.displayName }) },
      }, deviceId, signatures);
    }
    deviceKeys[userId] = ofUser;
    const masterKey = crossSigning.master === undefined ? undefined : publicKeyOf(crossSigning.master);
    if (masterKey !== undefined) masterKeys[userId] = withSignatures(crossSigning.master!, masterKey.key, signatures);
    if (crossSigning.self_signing !== undefined) selfSigningKeys[userId] = crossSigning.self_signing;
    // The user-signing key is only ever shown to its owner (§ Cross-signing).
    if (crossSigning.user_signing !== undefined && userId === requester.userId) userSigningKeys[userId] = crossSigning.user_signing;
  }
  // Remote servers answer for their users' devices and cross-signing keys; a user-signing key is
  // never shared over federation (server-server-api § End-to-End Encryption).
  const queryRemote = ctx.remoteServers === undefined ? undefined
    : (serverName: string, users: Readonly<Record<string, readonly string[]>>) => ctx.remoteServers!.queryKeys(serverName, users, timeoutMs);
  await askServers(remote, failures, queryRemote, (answer) => {
    Object.assign(deviceKeys, answer.deviceKeys);
    Object.assign(masterKeys, answer.masterKeys);
    Object.assign(selfSigningKeys, answer.selfSigningKeys);
  });
  return {
    device_keys: deviceKeys, failures,
    master_keys: masterKeys, self_signing_keys: selfSigningKeys, user_signing_keys: userSigningKeys,
  };
};

/** `POST /keys/claim`: one key per requested device; a one-time key is handed out once only. */
export const claimKeys = async (ctx: UserDataContext, _requester: Requester, body: JsonObject): Promise<JsonObject> => {
  const wanted = body.one_time_keys;
  if (!isJsonObject(wanted)) throw badJson("'one_time_keys' must be an object");
  let named = 0;
  for (const byDevice of Object.values(wanted)) named += isJsonObject(byDevice) ? Object.keys(byDevice).length : 0;
  requireAtMost(named, LIMITS.keysClaimEntries, 'devices per /keys/claim request');
  const claimed: JsonObject = {};
  const failures: JsonObject = {};
  const timeoutMs = remoteTimeout(body.timeout);
  const remote = new Map<string, Record<string, Readonly<Record<string, string>>>>();
  const turn = turnTaker();
  for (const [userId, byDevice] of Object.entries(wanted)) {
    if (!isUserId(userId)) throw badJson(`Invalid user id ${JSON.stringify(userId)}`);
    if (!isJsonObject(byDevice) || !Object.values(byDevice).every((a) => typeof a === 'string')) {
      throw badJson(`'one_time_keys.${userId}' must map device ids to algorithms`);
    }
    if (userServerName(userId) !== ctx.serverName) {
      byServer(remote, userServerName(userId))[userId] = byDevice as Record<string, string>;
      continue;
    }
    const ofUser: JsonObject = {};
    for (const [deviceId, algorithm] of Object.entries(byDevice)) {
      await turn();
      const key = await ctx.stores.keys.claim(userId, deviceId, algorithm as string);
      if (key !== undefined) ofUser[deviceId] = { [key.keyId]: key.key };
    }
    if (Object.keys(ofUser).length > 0) claimed[userId] = ofUser;
  }
  const claimRemote = ctx.remoteServers === undefined ? undefined
    : (serverName: string, users: Readonly<Record<string, Readonly<Record<string, string>>>>) => ctx.remoteServers!.claimKeys(serverName, users, timeoutMs);
  await askServers(remote, failures, claimRemote, (answer) => Object.assign(claimed, answer));
  return { one_time_keys: claimed, failures };
};

/**
 * For the accounts layer: a device was created or renamed. Its keys may not be uploaded yet, but
 * the device list changed all the same (as Synapse's `notify_device_update`): the user's other
 * devices and the users sharing a room see it in `device_lists.changed`, and other servers get an
 * m.device_list_update with the display name.
 */
export const onDeviceChanged = async (ctx: UserDataContext, userId: string, deviceId: string): Promise<void> => {
  await ctx.stores.keys.recordDeviceListChange(userId);
  await deviceListChanged(ctx, userId);
  await sendDeviceListUpdates(ctx, userId, [deviceId]);
};

/** For the accounts layer: a deleted device loses its keys and pending messages. */
export const onDeviceDeleted = async (ctx: UserDataContext, userId: string, deviceId: string): Promise<void> => {
  await ctx.stores.keys.deleteDevice(userId, deviceId);
  await ctx.stores.toDevice.deleteDevice(userId, deviceId);
  await deviceListChanged(ctx, userId);
  await sendDeviceListUpdates(ctx, userId, [deviceId], true);
};
