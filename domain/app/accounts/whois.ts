/**
 * `GET /admin/whois/{userId}` (admin.yaml): "may be restricted to only be called by the user being
 * looked up, or by a server admin" — as Synapse, both may; anyone else gets 403 M_FORBIDDEN, before
 * any lookup so the answer does not reveal which accounts exist.
 */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { AccountsContext, Requester } from './context.ts';
import { localUserIdOf } from './identifier.ts';

export const whois = async (ctx: AccountsContext, requester: Requester, userId: string): Promise<JsonObject> => {
  if (userId !== requester.userId && (await ctx.store.getUser(requester.userId))?.isAdmin !== true) {
    throw new MatrixError('M_FORBIDDEN', 403, 'You are not a server admin');
  }
  if (!userId.startsWith('@') || localUserIdOf(userId, ctx.serverName) === undefined) {
    throw new MatrixError('M_INVALID_PARAM', 400, 'Can only whois a local user');
  }
  const account = await ctx.store.getUser(userId);
  if (account === undefined || account.deactivated === true) throw new MatrixError('M_NOT_FOUND', 404, 'User not found');
  // One session per device (its current token), with a connection per address and User-Agent it
  // was seen from (Synapse's client_ips), most recent first.
  const connections = new Map<string, JsonObject[]>();
  for (const device of await ctx.store.listDevices(userId)) connections.set(device.deviceId, []);
  for (const seen of await ctx.store.listConnections(userId)) {
    connections.get(seen.deviceId)?.push({ ip: seen.ip, last_seen: seen.lastSeen, user_agent: seen.userAgent });
  }
  const devices: Record<string, JsonObject> = {};
  for (const [deviceId, seen] of connections) devices[deviceId] = { sessions: [{ connections: seen }] };
  return { user_id: userId, devices };
};
