/**
 * `POST /rooms/{roomId}/upgrade` (room_upgrades.yaml; client-server-api § Room Upgrades, server
 * behaviour): a new room whose create event names its predecessor, the old room's state carried
 * over, a tombstone in the old room, the old room's power levels restricted, aliases moved.
 */
import { MatrixError } from '../../errors.ts';
import { isUserId } from '../../ids/index.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { LocalEventRequest } from '../../room/index.ts';
import { roomVersionRules } from '../../roomVersions/index.ts';
import { invalidParam, lookupOf, memberContent, membershipIn, notInRoom, originOf, writerState } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';

/** State carried into the new room (Synapse's list; m.room.member bans follow separately). */
const CARRIED_STATE = [
  'm.room.join_rules', 'm.room.history_visibility', 'm.room.guest_access', 'm.room.name', 'm.room.topic', 'm.room.avatar',
  'm.room.encryption', 'm.room.server_acl', 'm.room.related_groups', 'm.room.canonical_alias',
];
const ROOM_ID_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export const upgradeRoom = async (ctx: RoomsContext, requester: RoomRequester, roomId: string, body: JsonObject): Promise<string> => {
  const newVersion = body.new_version;
  if (typeof newVersion !== 'string') throw new MatrixError('M_BAD_JSON', 400, "'new_version' must be a string");
  const rules = roomVersionRules(newVersion);
  if (rules === undefined) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', 400, `Room version ${newVersion} is not supported`);
  const additional = body.additional_creators ?? [];
  if (!Array.isArray(additional) || !additional.every((user) => typeof user === 'string' && isUserId(user))) {
    throw invalidParam("'additional_creators' must be an array of user ids");
  }

  // Only a member may send the tombstone; an unknown room answers alike, so nobody learns which rooms exist.
  const current = await ctx.writer.state(roomId);
  if (current === undefined || membershipIn(current, requester.userId) !== 'join') throw notInRoom(requester.userId, roomId);
  const old = await writerState(ctx, roomId);
  const lookup = lookupOf(old);
  // room_upgrades.yaml: 403 when the user may not send the tombstone. The decider judges, before
  // the new room exists; the replacement it will name is not known yet, any other room id will do.
  await ctx.writer.authorize(roomId, {
    type: 'm.room.tombstone', stateKey: '', sender: requester.userId,
    content: { body: 'This room has been replaced', replacement_room: `!upgrade:${ctx.serverName}` },
  });
  const oldCreate = lookup('m.room.create', '');
  const createContent: JsonObject = { room_version: newVersion, predecessor: { room_id: roomId } };
  if (!rules.eventFormat.roomIdIsCreateEventHash && oldCreate !== undefined) {
    (createContent.predecessor as JsonObject).event_id = oldCreate.eventId;
  }
  if (typeof oldCreate?.content.type === 'string') createContent.type = oldCreate.content.type;
  if (!rules.auth.creatorIsCreateSender) createContent.creator = requester.userId;
  if (rules.auth.privilegedCreators && additional.length > 0) createContent.additional_creators = additional as string[];

  const event = (type: string, content: JsonObject, stateKey = ''): LocalEventRequest => ({ type, stateKey, sender: requester.userId, content });
  const oldPower = lookup('m.room.power_levels', '')?.content ?? {};
  const finalPower: JsonObject = { ...oldPower };
  if (rules.auth.privilegedCreators) {
    // Since v12 creators have infinite power and must not appear in `users`.
    const users = isJsonObject(oldPower.users) ? { ...oldPower.users } : {};
    for (const creator of [requester.userId, ...(additional as string[])]) delete users[creator];
    finalPower.users = users;
  }
  // Before v12 the upgrader needs enough power to send the carried state: raise it until the end.
  const bootstrapPower: JsonObject = rules.auth.privilegedCreators ? finalPower
    : { ...finalPower, users: { ...(isJsonObject(finalPower.users) ? finalPower.users : {}), [requester.userId]: 100 } };

  const events: LocalEventRequest[] = [
    event('m.room.member', await memberContent(ctx, requester.userId, 'join'), requester.userId),
    event('m.room.power_levels', bootstrapPower),
  ];
  // This server's aliases of the old room move to the new one below: the new room claims them, so
  // its canonical alias may name them; a local alias that no longer points to the old room is not
  // carried (the decider would refuse it: room_state.yaml M_BAD_ALIAS).
  const moving = await ctx.directory.aliasesOf(roomId);
  const keptAlias = (alias: unknown): boolean =>
    typeof alias === 'string' && (!alias.endsWith(`:${ctx.serverName}`) || moving.includes(alias));
  for (const type of CARRIED_STATE) {
    const carried = lookup(type, '');
    if (carried === undefined) continue;
    if (type !== 'm.room.canonical_alias') {
      events.push(event(type, carried.content));
      continue;
    }
    const { alias, alt_aliases: alt, ...rest } = carried.content;
    const altKept = Array.isArray(alt) ? alt.filter(keptAlias) : [];
    events.push(event(type, { ...rest, ...(keptAlias(alias) ? { alias } : {}), ...(altKept.length > 0 ? { alt_aliases: altKept } : {}) }));
  }
  for (const [key] of old.state) {
    const member = key.startsWith('m.room.member\u0000') ? lookup('m.room.member', key.slice('m.room.member\u0000'.length)) : undefined;
    if (member?.content.membership === 'ban' && member.stateKey !== undefined) events.push(event('m.room.member', { membership: 'ban' }, member.stateKey));
  }
  if (bootstrapPower !== finalPower) events.push(event('m.room.power_levels', finalPower));

  const { roomId: newRoomId } = await ctx.writer.createRoom({
    ...(rules.eventFormat.roomIdIsCreateEventHash ? {} : { roomId: `!${ctx.random.string(18, ROOM_ID_LETTERS)}:${ctx.serverName}` }),
    createContent, creator: requester.userId, events, claimedAliases: moving, local: originOf(requester),
  });

  const origin = originOf(requester);
  await ctx.writer.send(roomId, event('m.room.tombstone', { body: 'This room has been replaced', replacement_room: newRoomId }), origin);
  // Stop ordinary members talking and inviting in the old room.
  const usersDefault = typeof oldPower.users_default === 'number' ? oldPower.users_default : 0;
  const restricted = Math.max(50, usersDefault + 1);
  const restrictedPower: JsonObject = { ...oldPower, events_default: restricted, invite: restricted };
  // Best effort, as Synapse: an upgrader with tombstone power but not power-levels power still
  // gets the new room; the tombstone already points everyone at it.
  await ctx.writer.send(roomId, event('m.room.power_levels', restrictedPower), origin).catch(() => undefined);

  for (const alias of moving) {
    await ctx.directory.deleteAlias(alias);
    await ctx.directory.createAlias(alias, newRoomId, requester.userId);
  }
  if ((await ctx.directory.visibility(roomId)) === 'public') {
    await ctx.directory.setVisibility(newRoomId, 'public');
    await ctx.directory.setVisibility(roomId, 'private');
  }
  return newRoomId;
};
