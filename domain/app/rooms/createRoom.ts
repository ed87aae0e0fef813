/**
 * `POST /createRoom` (client-server-api § Creation, create_room.yaml): the create event, the
 * creator's join, power levels, canonical alias, the preset's join rules / history visibility /
 * guest access, initial_state, name, topic, then the invites, all decided and appended at once.
 */
import { MatrixError } from '../../errors.ts';
import { isUserId, parseRoomAlias } from '../../ids/index.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { LocalEventRequest } from '../../room/index.ts';
import { DEFAULT_ROOM_VERSION, roomVersionRules, type RoomVersionRules } from '../../roomVersions/index.ts';
import { badJson, invalidParam, memberContent, originOf } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';
import { inviteBlocked, screenInvitees } from './invitePermission.ts';
import { ensureMayManageAlias } from './aliasExclusivity.ts';

const ROOM_ID_LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

interface Preset {
  readonly joinRule: string;
  readonly historyVisibility: string;
  readonly guestAccess: string;
  readonly inviteesAreAdmins: boolean;
}

const PRESETS: Record<string, Preset> = {
  private_chat: { joinRule: 'invite', historyVisibility: 'shared', guestAccess: 'can_join', inviteesAreAdmins: false },
  trusted_private_chat: { joinRule: 'invite', historyVisibility: 'shared', guestAccess: 'can_join', inviteesAreAdmins: true },
  // create_room.yaml's preset table: public_chat sends guest_access `forbidden` explicitly.
  public_chat: { joinRule: 'public', historyVisibility: 'shared', guestAccess: 'forbidden', inviteesAreAdmins: false },
};

const stringList = (body: JsonObject, key: string): string[] => {
  const value = body[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item): item is string => typeof item === 'string')) throw badJson(`'${key}' must be an array of strings`);
  return value;
};

const optionalText = (body: JsonObject, key: string): string | undefined => {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badJson(`'${key}' must be a string`);
  return value;
};

/** Synapse's default power levels; since v12 creators hold infinite power and are not listed. */
const defaultPowerLevels = (creator: string, invitees: readonly string[], preset: Preset, rules: RoomVersionRules): JsonObject => {
  const users: JsonObject = rules.auth.privilegedCreators ? {} : { [creator]: 100 };
  // Since v12 trusted invitees are additional creators instead (see createRoom), so not listed.
  if (preset.inviteesAreAdmins && !rules.auth.privilegedCreators) for (const user of invitees) users[user] = 100;
  return {
    users,
    users_default: 0,
    events: {
      'm.room.name': 50, 'm.room.power_levels': 100, 'm.room.history_visibility': 100, 'm.room.canonical_alias': 50,
      'm.room.avatar': 50, 'm.room.tombstone': rules.auth.privilegedCreators ? 150 : 100, 'm.room.server_acl': 100,
      'm.room.encryption': 100,
    },
    events_default: 0, state_default: 50, ban: 50, kick: 50, redact: 50, invite: 0,
    historical: 100,
  };
};

export interface CreateRoomResult {
  readonly roomId: string;
  readonly alias?: string;
}

export const createRoom = async (ctx: RoomsContext, requester: RoomRequester, body: JsonObject): Promise<CreateRoomResult> => {
  const creator = requester.userId;
  const creationContent = body.creation_content === undefined ? {} : body.creation_content;
  if (!isJsonObject(creationContent)) throw badJson("'creation_content' must be an object");
  const version = optionalText(body, 'room_version') ?? ctx.defaultRoomVersion ?? DEFAULT_ROOM_VERSION;
  const rules = roomVersionRules(version);
  if (rules === undefined) throw new MatrixError('M_UNSUPPORTED_ROOM_VERSION', 400, `Room version ${version} is not supported`);

  const visibility = optionalText(body, 'visibility') ?? 'private';
  if (visibility !== 'public' && visibility !== 'private') throw invalidParam("'visibility' must be public or private");
  const presetName = optionalText(body, 'preset') ?? (visibility === 'public' ? 'public_chat' : 'private_chat');
  const preset = PRESETS[presetName];
  if (preset === undefined) throw invalidParam(`Unknown preset ${presetName}`);
  const requestedInvitees = stringList(body, 'invite');
  for (const user of requestedInvitees) if (!isUserId(user)) throw invalidParam(`Invalid user id ${user}`);
  const { invitees, blocked } = await screenInvitees(ctx.preferences, requestedInvitees);
  const isDirect = body.is_direct === true;

  const aliasName = optionalText(body, 'room_alias_name');
  let alias: string | undefined;
  if (aliasName !== undefined) {
    if (aliasName === '' || /[:\s]/.test(aliasName)) throw new MatrixError('M_INVALID_PARAM', 400, "Invalid characters in 'room_alias_name'");
    alias = `#${aliasName}:${ctx.serverName}`;
    // Only an alias the directory can parse can ever be resolved (length, NUL, lone surrogates).
    const parsed = parseRoomAlias(alias);
    if (!parsed.ok) throw new MatrixError('M_INVALID_PARAM', 400, `Invalid 'room_alias_name': ${parsed.error}`);
    ensureMayManageAlias(ctx, requester, alias);
    if ((await ctx.directory.resolveAlias(alias)) !== undefined) throw new MatrixError('M_ROOM_IN_USE', 400, 'Room alias already taken');
  }

  const createContent: JsonObject = { ...creationContent, room_version: version };
  if (!rules.auth.creatorIsCreateSender) createContent.creator = creator;
  // Since v12 (create_room.yaml): trusted_private_chat invitees SHOULD be appended to
  // additional_creators, the only way to give them the creator's (infinite) power.
  const additional = createContent.additional_creators;
  if (rules.auth.privilegedCreators && preset.inviteesAreAdmins && invitees.length > 0 && (additional === undefined || Array.isArray(additional))) {
    createContent.additional_creators = [...new Set([...(additional ?? []), ...invitees])];
  }

  const event = (type: string, content: JsonObject, stateKey = ''): LocalEventRequest => ({ type, stateKey, sender: creator, content });
  const override = body.power_level_content_override;
  if (override !== undefined && !isJsonObject(override)) throw badJson("'power_level_content_override' must be an object");
  const events: LocalEventRequest[] = [
    event('m.room.member', await memberContent(ctx, creator, 'join'), creator),
    event('m.room.power_levels', { ...defaultPowerLevels(creator, invitees, preset, rules), ...(override ?? {}) }),
  ];
  if (alias !== undefined) events.push(event('m.room.canonical_alias', { alias }));
  events.push(event('m.room.join_rules', { join_rule: preset.joinRule }));
  events.push(event('m.room.history_visibility', { history_visibility: preset.historyVisibility }));
  events.push(event('m.room.guest_access', { guest_access: preset.guestAccess }));

  const initialState = body.initial_state ?? [];
  if (!Array.isArray(initialState)) throw badJson("'initial_state' must be an array");
  for (const item of initialState) {
    if (!isJsonObject(item) || typeof item.type !== 'string' || !isJsonObject(item.content)) {
      throw badJson("'initial_state' items need a string 'type' and an object 'content'");
    }
    const stateKey = item.state_key === undefined ? '' : item.state_key;
    if (typeof stateKey !== 'string') throw badJson("'initial_state' state_key must be a string");
    events.push(event(item.type, item.content, stateKey));
  }
  const name = optionalText(body, 'name');
  if (name !== undefined) events.push(event('m.room.name', { name }));
  const topic = optionalText(body, 'topic');
  if (topic !== undefined) {
    // Since v1.15 the topic also goes out as an m.topic content block whose m.text holds the
    // text/plain representation (event-schemas m.room.topic).
    events.push(event('m.room.topic', { topic, 'm.topic': { 'm.text': [{ mimetype: 'text/plain', body: topic }] } }));
  }
  for (const user of invitees) {
    events.push(event('m.room.member', await memberContent(ctx, user, 'invite', isDirect ? { is_direct: true } : {}), user));
  }

  const { roomId } = await ctx.writer.createRoom({
    ...(rules.eventFormat.roomIdIsCreateEventHash ? {} : { roomId: `!${ctx.random.string(18, ROOM_ID_LETTERS)}:${ctx.serverName}` }),
    createContent,
    creator,
    events,
    ...(alias === undefined ? {} : { claimedAliases: [alias] }),
    local: originOf(requester),
  });
  if (alias !== undefined && !(await ctx.directory.createAlias(alias, roomId, creator))) {
    throw new MatrixError('M_ROOM_IN_USE', 400, 'Room alias already taken');
  }
  if (visibility === 'public') await ctx.directory.setVisibility(roomId, 'public');
  // invite_permission.md: 403 M_INVITE_BLOCKED "due to a user in the `invite` list", while "the
  // room creation as a whole succeeds" (as in Synapse, which creates the room, then fails the invite).
  if (blocked[0] !== undefined) throw inviteBlocked(blocked[0]);
  return alias === undefined ? { roomId } : { roomId, alias };
};
