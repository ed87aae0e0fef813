/**
 * Our users' devices and end-to-end keys for other servers (server-server-api.md § Device
 * Management, § End-to-End Encryption; user_devices.yaml, user_keys.yaml). A remote server asks
 * about our users only (it asks each user's own server), so any other user is a 400, as Synapse
 * answers ("Not a user here"), never forwarded.
 *
 * What a remote server sees is what any user on it sees through its own server's `/keys/query`: the
 * device keys as uploaded, with their display names (device_keys.yaml `unsigned.device_display_name`;
 * user_devices.yaml `device_display_name`), the master and self-signing keys, and only the
 * signatures the key's owner made: signatures another user made with their user-signing key are
 * shown to that user alone (client-server-api § Cross-signing), and the user-signing key never
 * leaves the server (user_keys.yaml has no `user_signing_keys`).
 */
import { MatrixError } from '../../errors.ts';
import { utf8Length } from '../../ids/index.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../json.ts';
import { LIMITS } from '../../limits.ts';
import type { CrossSigningSignature } from '../../ports/userData.ts';
import { publicKeyOf, withSignatures } from '../userData/crossSigningKeys.ts';
import { requireAtMost } from '../userData/errors.ts';
import { turnTaker } from '../userData/turns.ts';
import type { FederationQueriesContext } from './context.ts';
import { localUserId } from './queries.ts';

const badJson = (message: string): MatrixError => new MatrixError('M_BAD_JSON', 400, message);

/** A user's own signatures on their keys: what anyone on another server may see. */
const ownSignatures = (ctx: FederationQueriesContext, userId: string): Promise<CrossSigningSignature[]> =>
  ctx.crossSigning.signaturesOn(userId, [userId]);

/** The master and self-signing keys, with the owner's signatures merged in as the client API shows them. */
const crossSigningKeys = async (ctx: FederationQueriesContext, userId: string, signatures: readonly CrossSigningSignature[]) => {
  const keys = await ctx.crossSigning.getKeys(userId);
  const masterKey = keys.master === undefined ? undefined : publicKeyOf(keys.master);
  return {
    master: keys.master === undefined || masterKey === undefined ? undefined : withSignatures(keys.master, masterKey.key, signatures),
    selfSigning: keys.self_signing,
  };
};

/** Device keys of the named devices (all when `deviceIds` is empty) that still exist, with their names. */
const deviceKeysOf = async (
  ctx: FederationQueriesContext, userId: string, deviceIds: readonly string[], signatures: readonly CrossSigningSignature[],
): Promise<Map<string, { keys: JsonObject; displayName: string | undefined }>> => {
  const [deviceList, stored] = await Promise.all([ctx.devices.listDevices(userId), ctx.keys.getDeviceKeys(userId, deviceIds)]);
  const devices = new Map(deviceList.map((device) => [device.deviceId, device]));
  const result = new Map<string, { keys: JsonObject; displayName: string | undefined }>();
  for (const [deviceId, keys] of stored) {
    // Keys of a device that was deleted meanwhile are not the user's any more.
    const device = devices.get(deviceId);
    if (device === undefined) continue;
    result.set(deviceId, { keys: withSignatures(keys, deviceId, signatures), displayName: device.displayName });
  }
  return result;
};

/**
 * `GET /_matrix/federation/v1/user/devices/{userId}`: every device that has keys (user_devices.yaml
 * makes `keys` required), and the cross-signing keys. `stream_id` is the device-list stream's
 * position: it only grows, and grows with every change of any user's devices or keys, so it grows
 * with each of this user's ("Must increase whenever the device list changes").
 */
export const userDevices = async (ctx: FederationQueriesContext, userId: string): Promise<JsonObject> => {
  const local = localUserId(ctx, userId);
  // The position is read first: a change after it is then announced with a higher one.
  const streamId = await ctx.keys.currentDeviceListPosition();
  const signatures = await ownSignatures(ctx, local);
  const [devices, crossSigning] = await Promise.all([deviceKeysOf(ctx, local, [], signatures), crossSigningKeys(ctx, local, signatures)]);
  const response: JsonObject = {
    user_id: local,
    stream_id: streamId,
    devices: [...devices].map(([deviceId, device]) => ({
      device_id: deviceId, keys: device.keys, ...(device.displayName === undefined ? {} : { device_display_name: device.displayName }),
    })),
  };
  if (crossSigning.master !== undefined) response.master_key = crossSigning.master;
  if (crossSigning.selfSigning !== undefined) response.self_signing_key = crossSigning.selfSigning;
  return response;
};

/** `POST /_matrix/federation/v1/user/keys/query` (user_keys.yaml). */
export const queryUserKeys = async (ctx: FederationQueriesContext, body: JsonObject): Promise<JsonObject> => {
  const wanted = body.device_keys;
  if (!isJsonObject(wanted)) throw badJson("'device_keys' must be an object");
  // The same bound as the client API's /keys/query: a user counts once, each named device once more.
  let named = 0;
  for (const deviceIds of Object.values(wanted)) named += 1 + (Array.isArray(deviceIds) ? deviceIds.length : 0);
  requireAtMost(named, LIMITS.keysQueryEntries, 'users and devices per /user/keys/query request');
  const entries = Object.entries(wanted).map(([userId, deviceIds]): [string, string[]] => {
    const local = localUserId(ctx, userId);
    if (!Array.isArray(deviceIds) || !deviceIds.every((id): id is string => typeof id === 'string')) {
      throw badJson(`'device_keys.${local}' must be an array of device ids`);
    }
    // Device ids are identifiers (domain/limits.ts); a longer one names no device.
    if (deviceIds.some((id) => utf8Length(id) > LIMITS.deviceIdBytes)) throw badJson(`'device_keys.${local}' names an over-long device id`);
    return [local, deviceIds];
  });
  const deviceKeys: JsonObject = {};
  const masterKeys: JsonObject = {};
  const selfSigningKeys: JsonObject = {};
  const turn = turnTaker();
  for (const [userId, deviceIds] of entries) {
    await turn();
    const signatures = await ownSignatures(ctx, userId);
    const [devices, crossSigning] = await Promise.all([deviceKeysOf(ctx, userId, deviceIds, signatures), crossSigningKeys(ctx, userId, signatures)]);
    const ofUser: JsonObject = {};
    for (const [deviceId, device] of devices) {
      const unsigned = isJsonObject(device.keys.unsigned) ? device.keys.unsigned : {};
      ofUser[deviceId] = {
        ...device.keys,
        unsigned: { ...unsigned, ...(device.displayName === undefined ? {} : { device_display_name: device.displayName }) },
      };
    }
    deviceKeys[userId] = ofUser;
    if (crossSigning.master !== undefined) masterKeys[userId] = crossSigning.master;
    if (crossSigning.selfSigning !== undefined) selfSigningKeys[userId] = crossSigning.selfSigning;
  }
  return { device_keys: deviceKeys, master_keys: masterKeys, self_signing_keys: selfSigningKeys };
};

/**
 * `POST /_matrix/federation/v1/user/keys/claim` (user_keys.yaml): one key per named device, a
 * one-time key handed out once only, else the device's fallback key (the store decides).
 */
export const claimUserKeys = async (ctx: FederationQueriesContext, body: JsonObject): Promise<JsonObject> => {
  const wanted = body.one_time_keys;
  if (!isJsonObject(wanted)) throw badJson("'one_time_keys' must be an object");
  let named = 0;
  for (const byDevice of Object.values(wanted)) named += isJsonObject(byDevice) ? Object.keys(byDevice).length : 0;
  requireAtMost(named, LIMITS.keysClaimEntries, 'devices per /user/keys/claim request');
  // Everything is checked before the first claim: a refused request must not have used up keys.
  const entries = Object.entries(wanted).map(([userId, byDevice]): [string, [string, string][]] => {
    const local = localUserId(ctx, userId);
    if (!isJsonObject(byDevice) || !Object.values(byDevice).every((algorithm: JsonValue) => typeof algorithm === 'string')) {
      throw badJson(`'one_time_keys.${local}' must map device ids to algorithms`);
    }
    return [local, Object.entries(byDevice) as [string, string][]];
  });
  const claimed: JsonObject = {};
  const turn = turnTaker();
  for (const [userId, byDevice] of entries) {
    const ofUser: JsonObject = {};
    for (const [deviceId, algorithm] of byDevice) {
      await turn();
      const key = await ctx.keys.claim(userId, deviceId, algorithm);
      if (key !== undefined) ofUser[deviceId] = { [key.keyId]: key.key };
    }
    if (Object.keys(ofUser).length > 0) claimed[userId] = ofUser;
  }
  return { one_time_keys: claimed };
};
