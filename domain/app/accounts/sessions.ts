/**
 * Issuing access tokens bound to devices (client-server-api § Relationship between access tokens
 * and devices): a client-chosen device id that already exists keeps the device but invalidates its
 * earlier tokens; otherwise a device is created.
 */
import { utf8Length } from '../../ids/limits.ts';
import { LIMITS } from '../../limits.ts';
import type { AccountsContext } from './context.ts';
import { invalidParam } from './params.ts';
import { hashAccessToken, newAccessToken, newDeviceId, newRefreshToken } from './secrets.ts';

/** What login and registration answer; `home_server` is deprecated but Synapse still sends it. */
export interface IssuedSession {
  readonly userId: string;
  readonly accessToken: string;
  readonly deviceId: string;
  readonly homeServer: string;
  /** Only when the client asked for refresh tokens (since v1.3). */
  readonly refreshToken?: string;
  /** The access token's lifetime, with `refreshToken`. */
  readonly expiresInMs?: number;
}

/** Synapse's default `refreshable_access_token_lifetime`: five minutes. */
export const DEFAULT_REFRESHABLE_TOKEN_LIFETIME_MS = 5 * 60_000;

export const refreshableTokenLifetime = (ctx: AccountsContext): number =>
  ctx.refreshableAccessTokenLifetimeMs ?? DEFAULT_REFRESHABLE_TOKEN_LIFETIME_MS;

const MAX_DEVICE_ID_BYTES = LIMITS.deviceIdBytes;

export const checkDeviceId = (deviceId: string | undefined): void => {
  if (deviceId === undefined) return;
  if (deviceId.length === 0 || utf8Length(deviceId) > MAX_DEVICE_ID_BYTES) {
    throw invalidParam('device_id', `a non-empty string of at most ${MAX_DEVICE_ID_BYTES} bytes`);
  }
};

export const issueSession = async (
  ctx: AccountsContext,
  userId: string,
  deviceId: string | undefined,
  initialDeviceDisplayName: string | undefined,
  refreshable = false,
  isGuest = false,
): Promise<IssuedSession> => {
  const now = ctx.clock.now();
  const device = deviceId ?? newDeviceId(ctx.random);
  const { created } = await ctx.store.ensureDevice(userId, device, initialDeviceDisplayName, now);
  if (!created) await ctx.store.deleteAccessTokensOfDevice(userId, device);
  else await ctx.onDeviceChanged?.(userId, device);
  const accessToken = newAccessToken(ctx.random);
  const session = { userId, accessToken, deviceId: device, homeServer: ctx.serverName };
  if (!refreshable) {
    await ctx.store.addAccessToken(hashAccessToken(accessToken), { userId, deviceId: device, isGuest }, now);
    return session;
  }
  const refreshToken = newRefreshToken(ctx.random);
  const lifetime = refreshableTokenLifetime(ctx);
  await ctx.store.addRefreshToken(hashAccessToken(refreshToken), { userId, deviceId: device }, now);
  await ctx.store.addAccessToken(hashAccessToken(accessToken), {
    userId, deviceId: device, isGuest: false, expiresTs: now + lifetime, refreshTokenHash: hashAccessToken(refreshToken),
  }, now);
  return { ...session, refreshToken, expiresInMs: lifetime };
};
