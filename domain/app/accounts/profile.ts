/**
 * Profiles (client-server-api § Profiles, profile.yaml). Since v1.16 any namespaced key may be
 * set; `displayname` and `avatar_url` must be strings. After a change the `onProfileChanged` hook
 * runs so membership events can follow (§ Events on Change of Profile Information).
 */
import { MatrixError } from '../../errors.ts';
import { utf8Length } from '../../ids/limits.ts';
import { isUserId, userServerName } from '../../ids/userId.ts';
import type { JsonObject, JsonValue } from '../../json.ts';
import type { ProfileFields } from '../../ports/accounts.ts';
import type { AccountsContext, Requester } from './context.ts';
import { isSuspended, userSuspendedError } from './moderation.ts';
import { invalidParam } from './params.ts';

/** profile.yaml's `keyName` pattern. */
const PROFILE_KEY = /^(avatar_url|displayname|m\.tz|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$/;
const MAX_KEY_BYTES = 255;
/** "the total profile MUST be under 64 KiB" */
const MAX_PROFILE_BYTES = 64 * 1024;
/** Per-field limits for the two classic fields, as Synapse applies them. */
const MAX_STRING_LENGTH: Readonly<Record<string, number>> = { displayname: 256, avatar_url: 1000 };

/** Only these two fields appear in member events (§ Events on Change of Profile Information). */
const MEMBER_EVENT_FIELDS: ReadonlySet<string> = new Set(['displayname', 'avatar_url']);

const profileNotFound = (): MatrixError => new MatrixError('M_NOT_FOUND', 404, 'Profile not found');

/**
 * Another server's user: its server is asked (server-server-api § Querying for information,
 * `GET /query/profile`), as Synapse does for `GET /profile/{userId}`; its errors reach the client
 * (404 when the user is unknown there, 502/504 when it cannot answer).
 */
const remoteServerOf = (ctx: AccountsContext, userId: string): string | undefined =>
  isUserId(userId) && userServerName(userId) !== ctx.serverName ? userServerName(userId) : undefined;

export const getProfile = async (ctx: AccountsContext, userId: string): Promise<ProfileFields> => {
  const remote = remoteServerOf(ctx, userId);
  if (remote !== undefined && ctx.remoteServers !== undefined) return ctx.remoteServers.queryProfile(remote, userId);
  const profile = await ctx.store.getProfile(userId)
    // A user of ours nobody registered may be a bridge's: one that says yes has just registered them.
    ?? ((await ctx.bridgeQueries?.queryUser(userId)) === true ? await ctx.store.getProfile(userId) : undefined);
  if (profile === undefined) throw profileNotFound();
  return profile;
};

export const getProfileField = async (ctx: AccountsContext, userId: string, key: string): Promise<JsonObject> => {
  // A known user without a display name or avatar: 200 `{}`, as Synapse answers (it has always
  // served these two for any existing user); 404 is for an unknown user. Other fields follow
  // profile.yaml: 404 when "there is no profile field with this key for this user". Another
  // server may answer 404 for an unset field (query.yaml), so for these two its user's whole
  // profile is asked, which tells an unknown user from one without the field; a null is unset.
  const classic = MEMBER_EVENT_FIELDS.has(key);
  const remote = remoteServerOf(ctx, userId);
  const profile = remote !== undefined && ctx.remoteServers !== undefined
    ? await ctx.remoteServers.queryProfile(remote, userId, classic ? undefined : key)
    : await getProfile(ctx, userId);
  const value = profile[key];
  if (value === undefined || (classic && value === null)) {
    if (classic) return {};
    throw new MatrixError('M_NOT_FOUND', 404, `Profile has no field ${key}`);
  }
  return { [key]: value };
};

const checkKey = (key: string): void => {
  if (utf8Length(key) > MAX_KEY_BYTES) throw new MatrixError('M_KEY_TOO_LARGE', 400, `Profile keys are at most ${MAX_KEY_BYTES} bytes`);
  if (!PROFILE_KEY.test(key)) throw new MatrixError('M_INVALID_PARAM', 400, `Invalid profile key ${JSON.stringify(key)}`);
};

/**
 * Only the user may change their profile; the profile must belong to an existing local account.
 * A suspended user may not change it (§ Account suspension: "Changing profile data").
 */
const ownProfile = async (ctx: AccountsContext, requester: Requester, userId: string): Promise<ProfileFields> => {
  if (requester.userId !== userId) throw new MatrixError('M_FORBIDDEN', 403, "Cannot change another user's profile");
  if (requester.suspended === true || (await isSuspended(ctx, userId))) throw userSuspendedError('change your profile');
  return getProfile(ctx, userId);
};

const changed = async (ctx: AccountsContext, userId: string, key: string): Promise<void> => {
  if (MEMBER_EVENT_FIELDS.has(key)) await ctx.onProfileChanged?.(userId, await getProfile(ctx, userId));
};

/** `PUT /profile/{userId}/{keyName}` with a body holding `keyName`. */
export const setProfileField = async (
  ctx: AccountsContext,
  requester: Requester,
  userId: string,
  key: string,
  body: JsonObject,
): Promise<void> => {
  checkKey(key);
  const profile = await ownProfile(ctx, requester, userId);
  if (!Object.hasOwn(body, key)) throw new MatrixError('M_MISSING_PARAM', 400, `Missing '${key}'`);
  const value: JsonValue = body[key];
  const limit = MAX_STRING_LENGTH[key];
  if (limit !== undefined) {
    if (typeof value !== 'string') throw invalidParam(key, 'a string');
    if (value.length > limit) throw invalidParam(key, `at most ${limit} characters`);
  }
  if (utf8Length(JSON.stringify({ ...profile, [key]: value })) >= MAX_PROFILE_BYTES) {
    throw new MatrixError('M_PROFILE_TOO_LARGE', 400, 'The profile would exceed 64 KiB');
  }
  await ctx.store.setProfileField(userId, key, value);
  await changed(ctx, userId, key);
};

/** `DELETE /profile/{userId}/{keyName}` (since v1.16). */
export const deleteProfileField = async (ctx: AccountsContext, requester: Requester, userId: string, key: string): Promise<void> => {
  checkKey(key);
  const profile = await ownProfile(ctx, requester, userId);
  if (!Object.hasOwn(profile, key)) return;
  await ctx.store.deleteProfileField(userId, key);
  await changed(ctx, userId, key);
};
