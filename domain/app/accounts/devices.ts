/** Device management (client-server-api § Device management, device_management.yaml). */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { Device } from '../../ports/accounts.ts';
import type { AccountsContext, GuardedRequest, Requester } from './context.ts';
import { invalidParam } from './params.ts';
import { checkDeviceId } from './sessions.ts';
import { finishUserInteractiveAuth, PASSWORD_FLOWS, userInteractiveAuth } from './uia.ts';

const MAX_DEVICE_DISPLAY_NAME_LENGTH = 256;

/** The wire form (client_device.yaml): absent fields are left out, not null. */
export const deviceJson = (device: Device): JsonObject => ({
  device_id: device.deviceId,
  ...(device.displayName === undefined ? {} : { display_name: device.displayName }),
  ...(device.lastSeenIp === undefined ? {} : { last_seen_ip: device.lastSeenIp }),
  ...(device.lastSeenTs === undefined ? {} : { last_seen_ts: device.lastSeenTs }),
});

const notFound = (): MatrixError => new MatrixError('M_NOT_FOUND', 404, 'Device not found');

export const listDevices = async (ctx: AccountsContext, requester: Requester): Promise<JsonObject[]> =>
  (await ctx.store.listDevices(requester.userId)).map(deviceJson);

export const getDevice = async (ctx: AccountsContext, requester: Requester, deviceId: string): Promise<JsonObject> => {
  const device = await ctx.store.getDevice(requester.userId, deviceId);
  if (device === undefined) throw notFound();
  return deviceJson(device);
};

/**
 * `PUT /devices/{deviceId}`: regular clients may only rename their existing devices; an
 * application service also creates them for its users (since v1.17, MSC4190). Whether it created one.
 */
export const renameDevice = async (
  ctx: AccountsContext,
  requester: Requester,
  deviceId: string,
  displayName: string | undefined,
): Promise<{ created: boolean }> => {
  if (displayName !== undefined && displayName.length > MAX_DEVICE_DISPLAY_NAME_LENGTH) {
    throw invalidParam('display_name', `at most ${MAX_DEVICE_DISPLAY_NAME_LENGTH} characters`);
  }
  if ((await ctx.store.getDevice(requester.userId, deviceId)) === undefined) {
    if (requester.appservice === undefined) throw notFound();
    checkDeviceId(deviceId);
    const { created } = await ctx.store.ensureDevice(requester.userId, deviceId, displayName, ctx.clock.now());
    if (created) await ctx.onDeviceChanged?.(requester.userId, deviceId);
    return { created };
  }
  if (displayName === undefined) return { created: false };
  await ctx.store.setDeviceDisplayName(requester.userId, deviceId, displayName);
  // Other users' clients and servers show the name (keys.yaml `unsigned.device_display_name`).
  await ctx.onDeviceChanged?.(requester.userId, deviceId);
  return { created: false };
};

/**
 * `DELETE /devices/{deviceId}` and `POST /delete_devices`: after UIA (none for an application
 * service, since v1.17), the devices and their tokens are gone. Unknown device ids are ignored,
 * as the operation's outcome already holds.
 */
export const deleteDevices = async (
  ctx: AccountsContext,
  requester: Requester,
  deviceIds: readonly string[],
  request: GuardedRequest,
): Promise<void> => {
  if (requester.appservice !== undefined) {
    await removeDevices(ctx, requester.userId, { only: deviceIds });
    return;
  }
  // Bound to the request's path and body, so a session begun for one device cannot delete another.
  const session = await userInteractiveAuth(ctx, { request, flows: PASSWORD_FLOWS, userId: requester.userId, bindParams: true });
  await removeDevices(ctx, requester.userId, { only: deviceIds });
  await finishUserInteractiveAuth(ctx, session);
};

/**
 * Every way a device goes away comes through here, so the `onDevicesDeleted` hook hears of each:
 * `{ only }` deletes those devices, `{ allBut }` every device but that one (undefined: all).
 */
export const removeDevices = async (
  ctx: AccountsContext,
  userId: string,
  which: { readonly only: readonly string[] } | { readonly allBut: string | undefined },
): Promise<void> => {
  const deleted = 'only' in which
    ? await ctx.store.deleteDevices(userId, which.only)
    : await ctx.store.deleteOtherDevices(userId, which.allBut);
  if (deleted.length > 0) await ctx.onDevicesDeleted?.(userId, deleted);
};
