/**
 * `POST /rooms/{roomId}/upgrade` (room_upgrades.yaml; client-server-api § Room Upgrades, server
 * behaviour): a new room whose create event names its predecessor, the old room's state carried
 * over, a tombstone in the old room, the old room's power levels restricted, aliases moved. The
 * order is Synapse's: before v12 the tombstone is built first (naming the new room's id, chosen
 * up front), the new room's `predecessor.event_id` names it, and it is appended once the new room
 * exists; since v12 the new room's id is its create event's hash, so the new room comes first and
 * its predecessor names no event.
 */
import { MatrixError } from '../../errors.ts';
import { toRoomEvent, type Pdu } from '../../events/index.ts';
import { isUserId } from '../../ids/index.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { LocalEventRequest } from '../../room/index.ts';
import { roomVersionRules } from '../../roomVersions/index.ts';
import { invalidParam, lookupOf, memberContent, membershipIn, notInRoom, originOf, writerState } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';

/** State carried into the new room (Synapse's list; m.room.member bans follow separately). */
const CARRIED_STATE = [
  'm.room.join_rules', 'm.room.history_visibility', 'm.room.guest_access', 'm.room.name', 'm.room.topic', 'm.room.avatar',
  'm.room.encryption', 'm.room.server_acl', 'm.room.related_groups',
];
const ROOM_ID_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/**
 * An m.room.canonical_alias split between the rooms of an upgrade: `moved` names the aliases that
 * move (`alias` if it does, and the moving `alt_aliases`), `kept` is the old room's content without
 * them; `changed` when any moves.
 */
export const splitCanonicalAlias = (content: JsonObject, moves: (alias: unknown) => boolean): { moved: JsonObject; kept: JsonObject; changed: boolean } => {
  const { alias, alt_aliases: alt, ...rest } = content;
  const altList = Array.isArray(alt) ? alt : [];
  const altMoved = altList.filter(moves);
  const altKept = altList.filter((entry) => !moves(entry));
  const aliasMoves = moves(alias);
  const moved: JsonObject = { ...(aliasMoves ? { alias } : {}), ...(altMoved.length > 0 ? { alt_aliases: altMoved } : {}) };
  const kept: JsonObject = {
    ...rest,
    ...(alias === undefined || aliasMoves ? {} : { alias }),
    ...(altKept.length === 0 ? {} : { alt_aliases: altKept }),
  };
  return { moved, kept, changed: aliasMoves || altMoved.length > 0 };
};

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
  const event = (type: string, content: JsonObject, stateKey = ''): LocalEventRequest => ({ type, stateKey, sender: requester.userId, content });
  const tombstone = (replacement: string): LocalEventRequest =>
    event('m.room.tombstone', { body: 'This room has been replaced', replacement_room: replacement });
  // room_upgrades.yaml: 403 when the user may not send the tombstone; the decider judges before
  // the new room exists. Before v12 the new room's id is ours to choose, so the tombstone is built
  // naming it; since v12 it is the new create event's hash, and any other room id will do for the check.
  const chosenRoomId = rules.eventFormat.roomIdIsCreateEventHash ? undefined : `!${ctx.random.string(18, ROOM_ID_LETTERS)}:${ctx.serverName}`;
  let preparedTombstone: { pdu: Pdu; eventId: string } | undefined;
  if (chosenRoomId === undefined) {
    await ctx.writer.authorize(roomId, tombstone(`!upgrade:${ctx.serverName}`));
  } else {
    const pdu = await ctx.writer.prepare(roomId, tombstone(chosenRoomId));
    const built = toRoomEvent(pdu, old.rules);
    if (!built.ok) throw new MatrixError('M_UNKNOWN', 500, built.error);
    preparedTombstone = { pdu, eventId: built.value.eventId };
  }
  const oldCreate = lookup('m.room.create', '');
  // m.room.create `predecessor.event_id`: the tombstone (Synapse); since v12 it is left out.
  const createContent: JsonObject = {
    room_version: newVersion,
    predecessor: { room_id: roomId, ...(preparedTombstone === undefined ? {} : { event_id: preparedTombstone.eventId }) },
  };
  if (typeof oldCreate?.content.type === 'string') createContent.type = oldCreate.content.type;
  // A room that never federated stays so (Synapse).
  if (oldCreate?.content['m.federate'] === false) createContent['m.federate'] = false;
  if (!rules.auth.creatorIsCreateSender) createContent.creator = requester.userId;
  if (rules.auth.privilegedCreators && additional.length > 0) createContent.additional_creators = additional as string[];

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
  // its canonical alias may name them. As Synapse's `_move_aliases_to_new_room`, the new room's
  // canonical alias names this server's aliases only and the old room's keeps only the others; a
  // local alias that no longer points to the old room stays behind (the decider would refuse it:
  // room_state.yaml M_BAD_ALIAS).
  const moving = await ctx.directory.aliasesOf(roomId);
  const moves = (alias: unknown): boolean => typeof alias === 'string' && moving.includes(alias);
  const canonical = lookup('m.room.canonical_alias', '')?.content;
  const split = canonical === undefined ? undefined : splitCanonicalAlias(canonical, moves);
  for (const type of CARRIED_STATE) {
    const carried = lookup(type, '');
    if (carried !== undefined) events.push(event(type, carried.content));
  }
  if (split !== undefined) events.push(event('m.room.canonical_alias', split.moved));
  // Synapse copies a space's children (those not removed: empty content).
  const stateOfType = (type: string): { stateKey: string; content: JsonObject }[] => [...old.state.keys()]
    .filter((key) => key.startsWith(`${type}\u0000`))
    .map((key) => ({ stateKey: key.slice(type.length + 1), content: lookup(type, key.slice(type.length + 1))?.content ?? {} }));
  if (oldCreate?.content.type === 'm.space') {
    for (const child of stateOfType('m.space.child')) if (Object.keys(child.content).length > 0) events.push(event('m.space.child', child.content, child.stateKey));
  }
  // Bans follow, reason and all (Synapse copies the ban events' content).
  for (const member of stateOfType('m.room.member')) {
    if (member.content.membership === 'ban') events.push(event('m.room.member', member.content, member.stateKey));
  }
  if (bootstrapPower !== finalPower) events.push(event('m.room.power_levels', finalPower));

  const { roomId: newRoomId } = await ctx.writer.createRoom({
    ...(chosenRoomId === undefined ? {} : { roomId: chosenRoomId }),
    createContent, creator: requester.userId, events, claimedAliases: moving, local: originOf(requester),
  });

  const origin = originOf(requester);
  if (preparedTombstone === undefined) {
    await ctx.writer.send(roomId, tombstone(newRoomId), origin);
  } else {
    // The very event the new room names: taken in as our own PDU (as a co-signed invite is), on the
    // prev events it was built on, judged again by the decider against the room as it is now.
    const taken = await ctx.writer.ingest(roomId, preparedTombstone.pdu, ctx.serverName);
    if (taken.outcome !== 'accepted' && taken.outcome !== 'known') {
      throw new MatrixError('M_FORBIDDEN', 403, `the tombstone could not enter the room: ${'reason' in taken ? taken.reason : taken.outcome}`);
    }
  }
  // Best effort, as Synapse: an upgrader with tombstone power but not the power to change the
  // canonical alias or power levels still gets the new room; the tombstone points everyone at it.
  const bestEffort = (request: LocalEventRequest) => ctx.writer.send(roomId, request, origin).catch(() => undefined);
  if (split !== undefined && split.changed) await bestEffort(event('m.room.canonical_alias', split.kept));
  // Stop ordinary members talking and inviting in the old room: raise, never lower, `events_default`
  // and `invite` to Moderator, or above `users_default` when that is 50 or more (Synapse).
  const usersDefault = typeof oldPower.users_default === 'number' ? oldPower.users_default : 0;
  const restricted = Math.max(50, usersDefault + 1);
  const raised = ['events_default', 'invite'].filter((key) => !(typeof oldPower[key] === 'number' && oldPower[key] >= restricted));
  if (raised.length > 0) await bestEffort(event('m.room.power_levels', { ...oldPower, ...Object.fromEntries(raised.map((key) => [key, restricted])) }));

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
