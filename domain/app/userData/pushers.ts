/**
 * Pushers (client-server-api § Push notifications, pusher.yaml): `GET /pushers` and
 * `POST /pushers/set`. Where the spec is silent this follows Synapse: missing keys are one
 * M_MISSING_PARAM naming them all; an `http` pusher's config problems (no `data.url`, a url whose
 * path is not `/_matrix/push/v1/notify`) are M_MISSING_PARAM "Config Error"; an `email` pusher
 * needs a validated email of the user, which nobody has here (no 3PIDs), so M_THREEPID_NOT_FOUND.
 */
import { MatrixError } from '../../errors.ts';
import { utf8Length } from '../../ids/limits.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import { LIMITS } from '../../limits.ts';
import type { Pusher } from '../../ports/userData.ts';
import type { Requester, UserDataContext } from './context.ts';
import { invalidParam } from './errors.ts';

const REQUIRED = ['kind', 'app_id', 'app_display_name', 'device_display_name', 'pushkey', 'lang', 'data'] as const;
const MAX_PUSHKEY_BYTES = LIMITS.pushkeyBytes;
const MAX_APP_ID_LENGTH = LIMITS.pusherAppIdChars;
const PUSH_GATEWAY_PATH = '/_matrix/push/v1/notify';

const pusherJson = (p: Pusher): JsonObject => ({
  pushkey: p.pushkey,
  kind: p.kind,
  app_id: p.appId,
  app_display_name: p.appDisplayName,
  device_display_name: p.deviceDisplayName,
  profile_tag: p.profileTag,
  lang: p.lang,
  data: p.data,
});

export const getPushers = async (ctx: UserDataContext, requester: Requester): Promise<JsonObject> => ({
  pushers: (await ctx.stores.pushers.list(requester.userId)).map(pusherJson),
});

const stringParam = (body: JsonObject, key: string): string => {
  const value = body[key];
  if (typeof value !== 'string') throw invalidParam(`'${key}' must be a string`);
  return value;
};

const checkIdentity = (appId: string, pushkey: string): void => {
  if (appId.length > MAX_APP_ID_LENGTH) throw invalidParam(`'app_id' must be at most ${MAX_APP_ID_LENGTH} characters`);
  if (utf8Length(pushkey) > MAX_PUSHKEY_BYTES) throw invalidParam(`'pushkey' must be at most ${MAX_PUSHKEY_BYTES} bytes`);
};

const configError = (message: string): MatrixError => new MatrixError('M_MISSING_PARAM', 400, `Config Error: ${message}`);

const checkKindConfig = (kind: string, data: JsonObject): void => {
  if (kind === 'http') {
    if (!Object.hasOwn(data, 'url')) throw configError("'url' required in data for HTTP pusher");
    if (typeof data.url !== 'string') throw configError("'url' must be a string");
    let path: string;
    try {
      path = new URL(data.url).pathname;
    } catch {
      throw configError("'url' must be a URL");
    }
    // The scheme must be https per the spec, but (as Synapse) that is the push gateway's business.
    if (path !== PUSH_GATEWAY_PATH) throw configError(`'url' must have a path of '${PUSH_GATEWAY_PATH}'`);
  } else if (kind === 'email') {
    throw new MatrixError('M_THREEPID_NOT_FOUND', 400, 'Email not found');
  }
};

/** `POST /pushers/set`: `kind: null` deletes; otherwise creates or updates by `app_id` + `pushkey`. */
export const setPusher = async (ctx: UserDataContext, requester: Requester, body: JsonObject): Promise<void> => {
  if (body.kind === null && Object.hasOwn(body, 'app_id') && Object.hasOwn(body, 'pushkey')) {
    await ctx.stores.pushers.delete(requester.userId, stringParam(body, 'app_id'), stringParam(body, 'pushkey'));
    return;
  }
  const missing = REQUIRED.filter((key) => body[key] === undefined || body[key] === null);
  if (missing.length > 0) throw new MatrixError('M_MISSING_PARAM', 400, `Missing params: ${missing.join(', ')}`);
  const [kind, appId, pushkey] = [stringParam(body, 'kind'), stringParam(body, 'app_id'), stringParam(body, 'pushkey')];
  checkIdentity(appId, pushkey);
  if (!isJsonObject(body.data)) throw invalidParam("'data' must be an object");
  if (body.append !== undefined && typeof body.append !== 'boolean') throw invalidParam("'append' must be a boolean");
  if (body.profile_tag !== undefined && typeof body.profile_tag !== 'string') throw invalidParam("'profile_tag' must be a string");
  checkKindConfig(kind, body.data);
  if (body.append !== true) await ctx.stores.pushers.deleteForOtherUsers(appId, pushkey, requester.userId);
  const now = ctx.clock.now();
  await ctx.stores.pushers.upsert({
    userId: requester.userId,
    kind,
    appId,
    pushkey,
    appDisplayName: stringParam(body, 'app_display_name'),
    deviceDisplayName: stringParam(body, 'device_display_name'),
    profileTag: typeof body.profile_tag === 'string' ? body.profile_tag : '',
    lang: stringParam(body, 'lang'),
    data: body.data,
    deviceId: requester.deviceId,
    createdTs: now,
    pushkeyTs: now,
  });
};

/** A deactivated account's pushers go (as Synapse): nothing should be pushed for it any more. */
export const deletePushersOfUser = (ctx: UserDataContext, userId: string): Promise<void> => ctx.stores.pushers.deleteAllOfUser(userId);

/** A deleted device's pushers go with it, as Synapse removes them with the device. */
export const deletePushersOfDevice = (ctx: UserDataContext, userId: string, deviceId: string): Promise<void> =>
  ctx.stores.pushers.deleteOfDevice(userId, deviceId);
