/**
 * Reporting content (report_content.yaml): events, rooms and users, stored for the server's
 * administrators. Since v1.8 reporting an event needs the reporter joined to its room; since
 * v1.18 there is no `score`.
 */
import { MatrixError } from '../../errors.ts';
import { isUserId, userServerName, type UserId } from '../../ids/index.ts';
import type { JsonObject } from '../../json.ts';
import { invalidParam, notFound } from './common.ts';
import type { RoomRequester } from './context.ts';
import type { RoomModulesContext } from './modulesContext.ts';
import { canSee, visibilityWindow } from './visibility.ts';

const reasonOf = (body: JsonObject, required: boolean): string | null => {
  const reason = body.reason;
  if (reason === undefined || reason === null) {
    if (required) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'reason'");
    return null;
  }
  if (typeof reason !== 'string') throw invalidParam("'reason' must be a string");
  return reason;
};

export const reportEvent = async (
  ctx: RoomModulesContext, requester: RoomRequester, roomId: string, eventId: string, body: JsonObject,
): Promise<void> => {
  const reason = reasonOf(body, false);
  const history = await ctx.rooms.membershipHistory(roomId, requester.userId);
  // "The event was not found or you are not joined to the room where the event resides" (and,
  // as the spec allows, a redacted event).
  if (history[history.length - 1]?.membership !== 'join') throw notFound('Event not found');
  const window = await visibilityWindow(ctx, roomId, requester.userId);
  const event = await ctx.rooms.event(eventId);
  if (event === undefined || event.roomId !== roomId || !canSee(window, event.offset) || event.redactedBecause !== null) {
    throw notFound('Event not found');
  }
  await ctx.reports.add({ reporter: requester.userId, roomId, eventId, userId: null, reason, receivedTs: ctx.clock.now() });
};

export const reportRoom = async (ctx: RoomModulesContext, requester: RoomRequester, roomId: string, body: JsonObject): Promise<void> => {
  const reason = reasonOf(body, true);
  if ((await ctx.rooms.roomInfo(roomId)) === undefined) throw notFound('Room not found');
  await ctx.reports.add({ reporter: requester.userId, roomId, eventId: null, userId: null, reason, receivedTs: ctx.clock.now() });
};

export const reportUser = async (ctx: RoomModulesContext, requester: RoomRequester, userId: string, body: JsonObject): Promise<void> => {
  const reason = reasonOf(body, true);
  if (!isUserId(userId)) throw invalidParam(`Invalid user id ${userId}`);
  // "The user was not found on the homeserver": a local user without an account, or a remote
  // user who is in none of this server's rooms.
  const known = userServerName(userId as UserId) === ctx.serverName
    ? (await ctx.profiles.getProfile(userId)) !== undefined
    : (await ctx.rooms.roomsWithMembership(userId, ['join', 'invite', 'knock', 'leave', 'ban'])).length > 0;
  if (!known) throw notFound('User not found');
  await ctx.reports.add({ reporter: requester.userId, roomId: null, eventId: null, userId, reason, receivedTs: ctx.clock.now() });
};
