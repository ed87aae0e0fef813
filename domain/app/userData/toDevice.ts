/**
 * Send-to-device messaging (client-server-api § Send-to-Device messaging, to_device.yaml). `*` as
 * device id means every device of the user. Messages for remote users leave as one
 * m.direct_to_device EDU per server (federationEdus.ts; dropped without federation), where `*`
 * keeps its meaning; messages from remote users arrive through remoteEdus.ts.
 */
import { isUserId, userServerName } from '../../ids/index.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import { LIMITS } from '../../limits.ts';
import type { ToDeviceDelivery } from '../../ports/userData.ts';
import type { Requester, UserDataContext } from './context.ts';
import { badJson, requireAtMost } from './errors.ts';
import { sendRemoteToDevice, type ToDeviceMessages } from './federationEdus.ts';
import { turnTaker } from './turns.ts';

/** How many to-device messages one sync response carries at most (as Synapse). */
export const TO_DEVICE_SYNC_LIMIT = 100;

/** `PUT /sendToDevice/{eventType}/{txnId}`; a repeated transaction id is a no-op. */
export const sendToDevice = async (
  ctx: UserDataContext, requester: Requester, eventType: string, txnId: string, body: JsonObject,
): Promise<void> => {
  const messages = body.messages;
  if (!isJsonObject(messages)) throw badJson("'messages' must be an object");
  let named = 0;
  for (const byDevice of Object.values(messages)) named += isJsonObject(byDevice) ? Object.keys(byDevice).length : 0;
  requireAtMost(named, LIMITS.toDeviceMessages, 'to-device messages per request');
  const deliveries: ToDeviceDelivery[] = [];
  const remote = new Map<string, ToDeviceMessages>();
  const turn = turnTaker();
  for (const [userId, byDevice] of Object.entries(messages)) {
    await turn();
    if (!isUserId(userId)) throw badJson(`Invalid user id ${JSON.stringify(userId)}`);
    if (!isJsonObject(byDevice)) throw badJson(`'messages.${userId}' must be an object`);
    const server = userServerName(userId);
    if (server !== ctx.serverName) {
      const ofUser: Record<string, JsonObject> = {};
      for (const [deviceId, content] of Object.entries(byDevice)) {
        if (!isJsonObject(content)) throw badJson(`Message content for ${userId} ${deviceId} must be an object`);
        ofUser[deviceId] = content;
      }
      let ofServer = remote.get(server);
      if (ofServer === undefined) remote.set(server, (ofServer = {}));
      ofServer[userId] = ofUser;
      continue;
    }
    // Messages for devices that do not exist would wait forever: they are dropped, as Synapse does.
    const existing = (await ctx.devices.listDevices(userId)).map((device) => device.deviceId);
    for (const [deviceId, content] of Object.entries(byDevice)) {
      if (!isJsonObject(content)) throw badJson(`Message content for ${userId} ${deviceId} must be an object`);
      const targets = deviceId === '*' ? existing : existing.filter((id) => id === deviceId);
      for (const target of targets) deliveries.push({ userId, deviceId: target, content });
    }
  }
  // Queued for other servers before the local inbox takes the transaction id: a failure here
  // leaves the id unused, so the client's retry sends again, and a retry after success repeats
  // each EDU's derived message_id, which its destination drops.
  await sendRemoteToDevice(ctx, requester, eventType, txnId, remote);
  const result = await ctx.stores.toDevice.send(requester, txnId, eventType, deliveries);
  if (!result.duplicate) ctx.notifier.notify([...new Set(deliveries.map((delivery) => delivery.userId))]);
};

export interface ToDeviceBatch {
  readonly events: JsonObject[];
  /** The position the next sync's `since` should carry for this stream. */
  readonly position: number;
}

/**
 * For /sync: acknowledges (deletes) what the device got up to `since`, then returns the next
 * messages up to `upTo`. When the batch is cut at the limit, the position is the last message's,
 * so the rest follows on the next sync.
 */
export const toDeviceChanges = async (
  ctx: UserDataContext, userId: string, deviceId: string, since: number, upTo: number, limit = TO_DEVICE_SYNC_LIMIT,
): Promise<ToDeviceBatch> => {
  if (since > 0) await ctx.stores.toDevice.acknowledge(userId, deviceId, since);
  const messages = await ctx.stores.toDevice.messagesFor(userId, deviceId, since, upTo, limit);
  const position = messages.length === limit ? messages[messages.length - 1]!.position : upTo;
  return {
    events: messages.map((message) => ({ sender: message.sender, type: message.type, content: message.content })),
    position,
  };
};
