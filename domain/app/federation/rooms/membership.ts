/**
 * Other servers' users joining, leaving, knocking on and being invited to rooms (server-server-api
 * § Joining Rooms, § Leaving Rooms, § Knocking, § Inviting to a room v2). The resident side
 * proposes templates and takes the signed events in through the room writer, where the decider
 * judges them like any remote event; the invitee side co-signs invites to rooms we are not in.
 */
import { MatrixError } from '../../../errors.ts';
import { addEventSignature, serversRequiredToSign, toRoomEvent, verifyEventSignature, type Pdu, type RoomEvent } from '../../../events/index.ts';
import { keyRequiredValidAt } from '../../../federation/index.ts';
import { isUserId, userServerName, type UserId } from '../../../ids/index.ts';
import { isJsonObject, type JsonObject } from '../../../json.ts';
import { roomVersionRules, type RoomVersionRules } from '../../../roomVersions/index.ts';
import { restrictedJoinContent, restrictingRooms } from '../../rooms/index.ts';
import type { FederationRoomsContext } from './context.ts';
import { authChainOf, pdusOf, stateBeforeMembership } from './stateAnswers.ts';

type Membership = 'join' | 'leave' | 'knock';

/** At most this much stripped state is kept of an invite (Synapse keeps a handful of types). */
const MAX_STRIPPED_STATE = 50;

const forbidden = (message: string) => new MatrixError('M_FORBIDDEN', 403, message);

const requireOwnUser = (origin: string, userId: string): void => {
  if (!isUserId(userId)) throw new MatrixError('M_INVALID_PARAM', 400, 'not a user id');
  if (userServerName(userId as UserId) !== origin) throw forbidden(`${origin} cannot ask for ${userId}`);
};

/** Whether `pdu` carries a valid signature of `server` with a key valid at `ts` (as its room version asks). */
const signedBy = async (ctx: FederationRoomsContext, pdu: Pdu, rules: RoomVersionRules, server: string, ts: number): Promise<boolean> => {
  const signatures = isJsonObject(pdu.signatures) && isJsonObject(pdu.signatures[server]) ? pdu.signatures[server] : {};
  for (const keyId of Object.keys(signatures).slice(0, 10)) {
    const key = await ctx.keyRing.verifyKey({ serverName: server, keyId, validAt: keyRequiredValidAt(rules, ts) });
    if (key.found && verifyEventSignature(pdu, rules, server, keyId, key.publicKeyBase64)) return true;
  }
  return false;
};

/**
 * A restricted room (since v8): as the resident server we vouch for the join — one of our members
 * who may invite is named in `join_authorised_via_users_server` — when the user is joined to an
 * allowed room as we see it (§ Restricted rooms). Nothing for a room that does not restrict joins.
 */
const restrictedJoinAuthorisation = async (ctx: FederationRoomsContext, roomId: string, userId: string): Promise<JsonObject | undefined> => {
  const state = await ctx.writer.state(roomId);
  if (state === undefined || state.rules === null) return undefined;
  const created = { ...state, rules: state.rules };
  const allowed = restrictingRooms(created);
  if (allowed === undefined) return undefined;
  const content = await restrictedJoinContent(ctx, roomId, created, userId).catch((error: unknown) => {
    // No member of ours may invite: another resident server may (make_join.yaml).
    if (error instanceof MatrixError && error.errcode === 'M_FORBIDDEN') throw new MatrixError('M_UNABLE_TO_GRANT_JOIN', 400, error.message);
    throw error;
  });
  if (content.join_authorised_via_users_server === undefined) return undefined;
  const joined = new Set(await ctx.rooms.roomsWithMembership(userId, ['join']));
  if (!allowed.some((allowedRoom) => joined.has(allowedRoom))) {
    const weAreIn = await Promise.all(allowed.map(async (allowedRoom) => (await ctx.writer.state(allowedRoom)) !== undefined));
    if (!weAreIn.some(Boolean)) throw new MatrixError('M_UNABLE_TO_AUTHORISE_JOIN', 400, 'This server is in none of the rooms that grant access');
    throw forbidden('You are not joined to any of the rooms that grant access to this one');
  }
  return content;
};

/** `make_join` / `make_leave` / `make_knock`. */
export const makeMembership = async (
  ctx: FederationRoomsContext, origin: string, roomId: string, userId: string, membership: Membership, supportedVersions?: readonly string[],
): Promise<JsonObject> => {
  requireOwnUser(origin, userId);
  await ctx.acl.assertServerAllowed(roomId, origin);
  const content = membership === 'join' ? await restrictedJoinAuthorisation(ctx, roomId, userId) : undefined;
  const { roomVersion, template } = await ctx.writer.membershipTemplate(roomId, userId, membership, content);
  // make_join.yaml: versions the joining server supports ("1" when it names none).
  if (supportedVersions !== undefined && !(supportedVersions.length === 0 ? ['1'] : supportedVersions).includes(roomVersion)) {
    throw new MatrixError('M_INCOMPATIBLE_ROOM_VERSION', 400,
      `Your homeserver does not support the features required to interact with this room (version ${roomVersion})`, { room_version: roomVersion });
  }
  return { room_version: roomVersion, event: { ...template, origin: ctx.serverName } };
};

/** The signed membership event of `send_*`, checked to be what the endpoint is for. */
const signedMembership = async (
  ctx: FederationRoomsContext, origin: string, roomId: string, eventId: string, body: unknown, membership: Membership,
): Promise<{ pdu: Pdu; event: RoomEvent; rules: RoomVersionRules }> => {
  if (!isJsonObject(body)) throw new MatrixError('M_BAD_JSON', 400, 'the event must be an object');
  await ctx.acl.assertServerAllowed(roomId, origin);
  const rules = (await ctx.writer.state(roomId))?.rules;
  if (rules === undefined || rules === null) throw new MatrixError('M_NOT_FOUND', 404, `Unknown room ${roomId}`);
  const parsed = toRoomEvent(body, rules);
  if (!parsed.ok) throw new MatrixError('M_BAD_JSON', 400, parsed.error);
  const event = parsed.value;
  if (event.eventId !== eventId) throw new MatrixError('M_BAD_JSON', 400, `the event's id is ${event.eventId}, not ${eventId}`);
  if (event.roomId !== roomId) throw new MatrixError('M_BAD_JSON', 400, 'the event is for another room');
  if (event.type !== 'm.room.member' || event.stateKey !== event.sender || event.content.membership !== membership) {
    throw new MatrixError('M_BAD_JSON', 400, `not an m.room.member ${membership} of its sender`);
  }
  requireOwnUser(origin, event.sender);
  return { pdu: body, event, rules };
};

/** Takes the signed event in through the writer; what the decider refused is the remote's 403. */
const ingestMembership = async (ctx: FederationRoomsContext, origin: string, roomId: string, pdu: Pdu): Promise<void> => {
  const result = await ctx.writer.ingest(roomId, pdu, origin);
  switch (result.outcome) {
    case 'accepted':
    case 'known':
      return;
    case 'softFailed':
      throw forbidden('the event is not allowed by the room\'s current state');
    case 'rejected':
    case 'dropped':
      throw forbidden(result.reason);
    case 'missing':
      throw new MatrixError('M_BAD_JSON', 400, `the event cites events this server does not have: ${result.eventIds.slice(0, 10).join(', ')}`);
    case 'unknownRoom':
      throw new MatrixError('M_NOT_FOUND', 404, `Unknown room ${roomId}`);
  }
};

/** `send_join` v2: the state before the join and its auth chain, as the joining server needs them. */
export const sendJoin = async (ctx: FederationRoomsContext, origin: string, roomId: string, eventId: string, body: unknown): Promise<JsonObject> => {
  const { pdu: signed, event, rules } = await signedMembership(ctx, origin, roomId, eventId, body, 'join');
  // A restricted join one of our users authorises carries our signature too (auth rules, since v8).
  const authoriser = event.content.join_authorised_via_users_server;
  const ours = typeof authoriser === 'string' && isUserId(authoriser) && userServerName(authoriser as UserId) === ctx.serverName;
  const pdu = ours ? addEventSignature(signed, rules, ctx.signingKey()) : signed;
  await ingestMembership(ctx, origin, roomId, pdu);
  const [join] = await ctx.graph.eventsByIds([eventId]);
  if (join === undefined) throw new MatrixError('M_UNKNOWN', 500, 'the join was accepted but cannot be read back');
  const state = await stateBeforeMembership(ctx.graph, join);
  const authChain = await authChainOf(ctx.graph, [...state, join]);
  const servers = new Set<string>([ctx.serverName]);
  for (const event of state) {
    if (event.type === 'm.room.member' && event.stateKey !== null && event.pdu.content !== undefined
      && (event.pdu.content as JsonObject).membership === 'join' && isUserId(event.stateKey)) servers.add(userServerName(event.stateKey as UserId));
  }
  return {
    origin: ctx.serverName, state: pdusOf(state), auth_chain: pdusOf(authChain), event: join.pdu, members_omitted: false, servers_in_room: [...servers],
  };
};

/** `send_leave` v2: `{}` once the leave is in the room. */
export const sendLeave = async (ctx: FederationRoomsContext, origin: string, roomId: string, eventId: string, body: unknown): Promise<JsonObject> => {
  const { pdu } = await signedMembership(ctx, origin, roomId, eventId, body, 'leave');
  await ingestMembership(ctx, origin, roomId, pdu);
  return {};
};

/** `send_knock`: the knock, and the stripped state the knocking user's client is shown. */
export const sendKnock = async (ctx: FederationRoomsContext, origin: string, roomId: string, eventId: string, body: unknown): Promise<JsonObject> => {
  const { pdu } = await signedMembership(ctx, origin, roomId, eventId, body, 'knock');
  await ingestMembership(ctx, origin, roomId, pdu);
  const [knock] = await ctx.graph.eventsByIds([eventId]);
  const state = knock === undefined ? [] : await stateBeforeMembership(ctx.graph, knock);
  return { knock_room_state: strippedStateOf(state.map((event) => event.pdu)) };
};

const STRIPPED_TYPES = new Set([
  'm.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.avatar', 'm.room.canonical_alias', 'm.room.encryption', 'm.room.topic',
]);

/**
 * Stripped state events (client-server-api § Stripped state) of the types Synapse shares, and
 * `member`'s own m.room.member event when named (an invite's inviter: clients show who invited
 * from it, as Synapse sends it).
 */
export const strippedStateOf = (pdus: readonly Pdu[], member?: string): JsonObject[] => pdus
  .filter((pdu) => typeof pdu.type === 'string' && (STRIPPED_TYPES.has(pdu.type) || (member !== undefined && pdu.type === 'm.room.member' && pdu.state_key === member)))
  .map((pdu) => ({ type: pdu.type!, state_key: pdu.state_key ?? '', sender: pdu.sender ?? '', content: pdu.content ?? {} }));

/**
 * `invite` v2: another server's user invites ours. We check the event is an invite of our user by
 * theirs, signed by them, co-sign it, and — unless we are in the room, whose events come through
 * /send — record it so our user sees the invite.
 */
export const receiveInvite = async (ctx: FederationRoomsContext, origin: string, roomId: string, eventId: string, body: unknown): Promise<JsonObject> => {
  if (!isJsonObject(body) || !isJsonObject(body.event)) throw new MatrixError('M_BAD_JSON', 400, 'the invite must carry an event');
  const version = body.room_version === undefined ? '1' : body.room_version;
  const rules = typeof version === 'string' ? roomVersionRules(version) : undefined;
  if (rules === undefined) {
    throw new MatrixError('M_INCOMPATIBLE_ROOM_VERSION', 400, `room version ${JSON.stringify(version)} is not supported`, { room_version: version });
  }
  const parsed = toRoomEvent(body.event, rules);
  if (!parsed.ok) throw new MatrixError('M_BAD_JSON', 400, parsed.error);
  const event = parsed.value;
  if (event.eventId !== eventId || event.roomId !== roomId) throw new MatrixError('M_BAD_JSON', 400, 'the event does not match the path');
  if (event.type !== 'm.room.member' || event.content.membership !== 'invite' || event.stateKey === undefined) {
    throw new MatrixError('M_BAD_JSON', 400, 'not an invite');
  }
  requireOwnUser(origin, event.sender);
  if (!isUserId(event.stateKey) || userServerName(event.stateKey as UserId) !== ctx.serverName) throw forbidden('the invitee is not on this server');
  await ctx.acl.assertServerAllowed(roomId, origin);
  if (await ctx.blocksInvites?.(event.stateKey)) throw new MatrixError('M_FORBIDDEN', 403, 'The user does not accept invites');

  // Signed by every server that must sign it (the sender's; before v3 also the event id's domain),
  // with keys valid when it was sent: we add our signature to nothing another server could not vouch for.
  for (const server of serversRequiredToSign(event.sender, event.eventId, rules)) {
    if (!(await signedBy(ctx, body.event, rules, server, event.originServerTs))) throw forbidden(`the invite carries no valid signature of ${server}`);
  }

  const ours = addEventSignature(body.event, rules, ctx.signingKey());
  const known = await ctx.writer.state(roomId);
  if (known === undefined) {
    const stripped = Array.isArray(body.invite_room_state) ? body.invite_room_state.filter(isJsonObject).slice(0, MAX_STRIPPED_STATE) : [];
    await ctx.writer.recordOutOfBand({ roomId, roomVersion: rules.id, eventId, pdu: ours, strippedState: stripped });
  }
  return { event: ours };
};
