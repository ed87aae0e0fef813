/**
 * Cross-signing (client-server-api § Cross-signing, cross_signing.yaml): `POST
 * /keys/device_signing/upload` and `POST /keys/signatures/upload`. Unlike device keys, the server
 * checks these signatures: a self-signing or user-signing key must be signed by the master key,
 * and an uploaded signature must be valid for the key it claims to come from.
 */
import { isUserId } from '../../ids/index.ts';
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import { LIMITS } from '../../limits.ts';
import type { CrossSigningKeyType, CrossSigningSignature } from '../../ports/userData.ts';
import type { Requester, UserDataContext } from './context.ts';
import {
  checkCrossSigningKey, invalidSignature, publicKeyOf, sameKeyObject, sameSignedPart, signaturesIn, signedBy, type PublicKey,
} from './crossSigningKeys.ts';
import { badJson, forbidden, requireAtMost } from './errors.ts';
import { sendDeviceListUpdates, sendSigningKeyUpdate } from './federationEdus.ts';
import { turnTaker } from './turns.ts';

/**
 * Runs user-interactive auth for the operation (the accounts layer); resolves with a function
 * to call once the operation succeeded, or throws the 401 challenge.
 */
export type Authorize = () => Promise<() => Promise<void>>;

const UPLOADS: readonly [CrossSigningKeyType, string][] = [
  ['master', 'master_key'], ['self_signing', 'self_signing_key'], ['user_signing', 'user_signing_key'],
];

/** Tells the uploader's devices and everyone sharing a room that the user's keys changed. */
const keysChanged = async (ctx: UserDataContext, userId: string): Promise<void> => {
  ctx.notifier.notify([...(await ctx.membership.usersSharingRoomsWith(userId)), userId]);
};

/** `POST /keys/device_signing/upload`. */
export const uploadCrossSigningKeys = async (
  ctx: UserDataContext, requester: Requester, body: JsonObject, authorize: Authorize,
): Promise<JsonObject> => {
  const uploaded: Partial<Record<CrossSigningKeyType, JsonObject>> = {};
  for (const [type, name] of UPLOADS) {
    const value = body[name];
    if (value !== undefined && value !== null) uploaded[type] = checkCrossSigningKey(value, requester.userId, type, name);
  }
  const stored = await ctx.stores.crossSigning.getKeys(requester.userId);
  const master = uploaded.master ?? stored.master;
  if (uploaded.self_signing !== undefined || uploaded.user_signing !== undefined) {
    if (master === undefined) throw new MatrixError('M_MISSING_PARAM', 400, 'No master key available');
    const masterKey = publicKeyOf(master)!;
    for (const type of ['self_signing', 'user_signing'] as const) {
      const key = uploaded[type];
      if (key !== undefined && !signedBy(key, requester.userId, masterKey)) {
        throw invalidSignature(`The ${type.replace('_', '-')} key is not signed by the master key`);
      }
    }
  }
  // Device ids and cross-signing public keys share one namespace (§ Cross-signing: "Servers
  // therefore must ensure that device IDs will not collide with cross-signing public keys").
  const deviceIds = new Set((await ctx.devices.listDevices(requester.userId)).map((d) => d.deviceId));
  for (const key of Object.values(uploaded)) {
    if (deviceIds.has(publicKeyOf(key)!.key)) throw forbidden('Key ID in use');
  }
  // Since v1.11: no UIA for a first master key, nor for a repeat of the stored keys.
  const replay = Object.entries(uploaded).every(([type, key]) => {
    const old = stored[type as CrossSigningKeyType];
    return old !== undefined && sameKeyObject(old, key);
  });
  const finish = stored.master === undefined || replay ? undefined : await authorize();
  if (await ctx.stores.crossSigning.setKeys(requester.userId, uploaded)) {
    await keysChanged(ctx, requester.userId);
    await sendSigningKeyUpdate(ctx, requester.userId);
  }
  await finish?.();
  return {};
};

type Failure = { errcode: string; error: string };
const failure = (errcode: string, error: string): Failure => ({ errcode, error });

/** The signatures newly made on `signed` by `signerUserId`: those the stored key lacks. */
const newSignatures = (signed: JsonObject, stored: JsonObject, signerUserId: string) => {
  const known = new Set(signaturesIn(stored).filter((s) => s.userId === signerUserId).map((s) => `${s.keyId} ${s.signature}`));
  return signaturesIn(signed).filter((s) => s.userId === signerUserId && !known.has(`${s.keyId} ${s.signature}`));
};

interface SignatureCheck {
  readonly targetUserId: string;
  readonly targetKeyId: string;
  readonly signed: JsonObject;
  /** The key as stored; the upload must match it but for signatures. */
  readonly stored: JsonObject | undefined;
  /** The public key a new signature must verify against, by its `ed25519:…` id. */
  readonly signerKey: (keyId: string) => PublicKey | undefined;
  readonly signerUserId: string;
}

/** Checks one uploaded key's new signatures; the signatures to store, or why they are refused. */
const checkSignatures = (check: SignatureCheck): CrossSigningSignature[] | Failure => {
  if (check.stored === undefined) return failure('M_NOT_FOUND', 'Unknown key');
  if (!sameSignedPart(check.signed, check.stored)) return failure('M_INVALID_PARAM', 'The signed object does not match the stored key');
  const added = newSignatures(check.signed, check.stored, check.signerUserId);
  if (added.length === 0) return failure('M_INVALID_SIGNATURE', 'No new signature from an acceptable key');
  const accepted: CrossSigningSignature[] = [];
  for (const s of added) {
    const signer = check.signerKey(s.keyId);
    if (signer === undefined || !signedBy(check.signed, check.signerUserId, signer)) {
      return failure('M_INVALID_SIGNATURE', `Invalid signature by ${s.keyId}`);
    }
    accepted.push({
      targetUserId: check.targetUserId, targetKeyId: check.targetKeyId,
      signerUserId: check.signerUserId, signerKeyId: s.keyId, signature: s.signature,
    });
  }
  return accepted;
};

/** Signatures of the requester's own devices (by the self-signing key) and master key (by devices). */
const ownKeyCheck = async (
  ctx: UserDataContext, requester: Requester, keys: Partial<Record<CrossSigningKeyType, JsonObject>>, keyId: string, signed: JsonObject,
): Promise<SignatureCheck | Failure> => {
  const master = keys.master === undefined ? undefined : publicKeyOf(keys.master);
  const base = { targetUserId: requester.userId, targetKeyId: keyId, signed, signerUserId: requester.userId };
  if (master !== undefined && keyId === master.key) {
    const devices = await ctx.stores.keys.getDeviceKeys(requester.userId, []);
    return {
      ...base, stored: keys.master,
      signerKey: (signerKeyId) => {
        const deviceKeys = devices.get(signerKeyId.slice(signerKeyId.indexOf(':') + 1))?.keys;
        const key = isJsonObject(deviceKeys) ? deviceKeys[signerKeyId] : undefined;
        return typeof key === 'string' ? { keyId: signerKeyId, key } : undefined;
      },
    };
  }
  const selfSigning = keys.self_signing === undefined ? undefined : publicKeyOf(keys.self_signing);
  if (selfSigning === undefined) return failure('M_NOT_FOUND', 'No self-signing key to sign devices with');
  const device = (await ctx.stores.keys.getDeviceKeys(requester.userId, [keyId])).get(keyId);
  if (device === undefined) return failure('M_NOT_FOUND', 'Unknown device');
  return { ...base, stored: device, signerKey: (signerKeyId) => (signerKeyId === selfSigning.keyId ? selfSigning : undefined) };
};

/** Signatures of another local user's master key by the requester's user-signing key. */
const otherUserCheck = async (
  ctx: UserDataContext, requester: Requester, userSigning: PublicKey | undefined, targetUserId: string, keyId: string, signed: JsonObject,
): Promise<SignatureCheck | Failure> => {
  if (userSigning === undefined) return failure('M_NOT_FOUND', 'No user-signing key to sign other users with');
  const theirMaster = (await ctx.stores.crossSigning.getKeys(targetUserId)).master;
  if (theirMaster === undefined || publicKeyOf(theirMaster)?.key !== keyId) return failure('M_NOT_FOUND', 'Unknown master key');
  return {
    targetUserId, targetKeyId: keyId, signed, stored: theirMaster, signerUserId: requester.userId,
    signerKey: (signerKeyId) => (signerKeyId === userSigning.keyId ? userSigning : undefined),
  };
};

/**
 * Other servers see the owner's own signatures: on a device (by the self-signing key) in its
 * m.device_list_update, on the master key (by a device) in m.signing_key_update. Signatures by the
 * user-signing key are the signer's alone and stay here.
 */
const announceOwnSignatures = async (
  ctx: UserDataContext, userId: string, ownKeys: Partial<Record<CrossSigningKeyType, JsonObject>>, accepted: readonly CrossSigningSignature[],
): Promise<void> => {
  const masterKey = ownKeys.master === undefined ? undefined : publicKeyOf(ownKeys.master)?.key;
  const own = accepted.filter((signature) => signature.targetUserId === userId);
  const devices = [...new Set(own.filter((signature) => signature.targetKeyId !== masterKey).map((signature) => signature.targetKeyId))];
  await sendDeviceListUpdates(ctx, userId, devices);
  if (own.some((signature) => signature.targetKeyId === masterKey)) await sendSigningKeyUpdate(ctx, userId);
};

/** `POST /keys/signatures/upload`: stores the valid signatures; `failures` names the others. */
export const uploadSignatures = async (ctx: UserDataContext, requester: Requester, body: JsonObject): Promise<JsonObject> => {
  let named = 0;
  for (const byKey of Object.values(body)) named += isJsonObject(byKey) ? Object.keys(byKey).length : 0;
  requireAtMost(named, LIMITS.signedObjectsPerUpload, 'signed objects per signature upload');
  const ownKeys = await ctx.stores.crossSigning.getKeys(requester.userId);
  const userSigning = ownKeys.user_signing === undefined ? undefined : publicKeyOf(ownKeys.user_signing);
  const failures: JsonObject = {};
  const accepted: CrossSigningSignature[] = [];
  const turn = turnTaker();
  for (const [userId, byKey] of Object.entries(body)) {
    if (!isUserId(userId)) throw badJson(`Invalid user id ${JSON.stringify(userId)}`);
    if (!isJsonObject(byKey)) throw badJson(`'${userId}' must map key ids to signed objects`);
    const failed: JsonObject = {};
    for (const [keyId, signed] of Object.entries(byKey)) {
      await turn();
      let outcome: CrossSigningSignature[] | Failure;
      if (!isJsonObject(signed)) outcome = failure('M_BAD_JSON', 'The signed object must be an object');
      else {
        const check = userId === requester.userId
          ? await ownKeyCheck(ctx, requester, ownKeys, keyId, signed)
          : await otherUserCheck(ctx, requester, userSigning, userId, keyId, signed);
        outcome = 'errcode' in check ? check : checkSignatures(check);
      }
      if (Array.isArray(outcome)) accepted.push(...outcome);
      else failed[keyId] = outcome;
    }
    if (Object.keys(failed).length > 0) failures[userId] = failed;
  }
  if (accepted.length > 0) {
    // Own keys changed, or (user-signing) a signature only the requester sees: either way it is
    // the requester's device list that changed.
    await ctx.stores.crossSigning.addSignatures(accepted, [requester.userId]);
    await keysChanged(ctx, requester.userId);
    await announceOwnSignatures(ctx, requester.userId, ownKeys, accepted);
  }
  return { failures };
};

/** Stored signatures `requester` may see on `userId`'s keys: the user's own, and the requester's. */
export const visibleSignatures = (ctx: UserDataContext, requester: Requester, userId: string): Promise<CrossSigningSignature[]> =>
  ctx.stores.crossSigning.signaturesOn(userId, userId === requester.userId ? [userId] : [userId, requester.userId]);
