/**
 * The `to_device` extension (MSC3885): the device's to-device messages after `since`, at most
 * `limit`, with `next_batch` to send back as the next `since`. Sending it back acknowledges: the
 * messages up to it are deleted, as v3 /sync's to-device stream does, so whichever connection of
 * the device acknowledged them, no connection of the device gets them again.
 */
import type { JsonObject } from '../../../../json.ts';
import type { SyncContext, SyncRequester } from '../../context.ts';

export interface ToDeviceRequest {
  readonly since: number | undefined;
  readonly limit: number;
}

/** Undefined when there is nothing to say (no message, and not the connection's first answer). */
export const toDeviceAnswer = async (
  ctx: SyncContext, requester: SyncRequester, request: ToDeviceRequest, upTo: number, first: boolean,
): Promise<JsonObject | undefined> => {
  // A request without a device (an application service's user) has no inbox, as in Synapse.
  if (requester.deviceId === '') return first ? { next_batch: String(upTo), events: [] } : undefined;
  const since = request.since ?? 0;
  // A position from the future (another server's, or a lost database): nothing to read, and the
  // client keeps its token (Synapse answers the same).
  if (since > upTo) return first ? { next_batch: String(since), events: [] } : undefined;
  const batch = await ctx.userData.streams.toDevice.changesSince(requester.userId, requester.deviceId, since, upTo, request.limit);
  if (batch.events.length === 0 && !first) return undefined;
  return { next_batch: String(batch.position), events: batch.events };
};
