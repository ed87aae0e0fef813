/**
 * GET /_matrix/federation/v1/hierarchy/{roomId} (space_hierarchy.yaml): a space and its direct
 * children for another server, which walks further itself. As Synapse
 * (`get_federation_hierarchy`): the space must be one the asking server may peek or join, else 404
 * ("the requesting server is unable to peek/join it"); children this server does not hold are left
 * out; children the asking server may not peek or join are listed by id only
 * (`inaccessible_children`); at most 50 children are looked at.
 *
 * A server may peek or join a room (Synapse's `_is_local_room_accessible` for an origin) when one
 * of its users is joined or invited, the join rule is public, the room is knockable (knock since
 * v7, knock_restricted since v10), its history is world_readable, or it is restricted and one of
 * the server's users is joined to an allowed room. A room whose server ACL denies the server is
 * never accessible to it: the ACL bars it from the room at the network layer.
 */
import { MatrixError } from '../../errors.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import { roomVersionRules } from '../../roomVersions/index.ts';
import { allowedRoomIds, hierarchyChunk, joinRuleIn, roomSummaryFields, spaceChildren, type SpaceRoom } from '../rooms/spaceRoom.ts';
import type { FederationRoomReadsContext } from './roomReads.ts';

/** Synapse's MAX_ROOMS_PER_SPACE: children looked at per request. */
export const MAX_HIERARCHY_CHILDREN = 50;
/**
 * Allowed rooms of a restricted join rule looked at per room: the room's admins choose the list
 * (up to an event's 64 KiB), and each costs a query.
 */
const MAX_ALLOWED_ROOMS_CHECKED = 20;

type HierarchyContext = Pick<FederationRoomReadsContext, 'rooms' | 'acl'> & { readonly graph: Pick<FederationRoomReadsContext['graph'], 'serverHasJoinedMember'> };

const serverOfUser = (userId: string): string => userId.slice(userId.indexOf(':') + 1);

const membershipOf = (event: SpaceRoom['state'][number]): unknown => (isJsonObject(event.pdu.content) ? event.pdu.content.membership : undefined);

/** Whether one of the server's users has one of these memberships in the state. */
const serverHasMember = (state: SpaceRoom['state'], origin: string, memberships: readonly string[]): boolean =>
  state.some((event) => event.type === 'm.room.member' && event.stateKey !== null && serverOfUser(event.stateKey) === origin
    && memberships.includes(membershipOf(event) as string));

const loadRoom = async (ctx: HierarchyContext, roomId: string): Promise<SpaceRoom | undefined> => {
  const [info, state] = await Promise.all([ctx.rooms.roomInfo(roomId), ctx.rooms.currentState(roomId)]);
  return info === undefined || state.length === 0 ? undefined : { info, state };
};

const serverMayPeekOrJoin = async (ctx: HierarchyContext, room: SpaceRoom, origin: string): Promise<boolean> => {
  if (!(await ctx.acl.isServerAllowed(room.info.roomId, origin))) return false;
  if (serverHasMember(room.state, origin, ['join', 'invite'])) return true;
  const rules = roomVersionRules(room.info.roomVersion);
  const joinRule = joinRuleIn(room.state);
  if (joinRule === 'public') return true;
  if (joinRule === 'knock' && rules?.auth.knocking === true) return true;
  if (joinRule === 'knock_restricted' && rules?.auth.knockRestrictedJoinRule === true) return true;
  const visibility = room.state.find((event) => event.type === 'm.room.history_visibility' && event.stateKey === '');
  if (isJsonObject(visibility?.pdu.content) && visibility.pdu.content.history_visibility === 'world_readable') return true;
  for (const allowed of allowedRoomIds(room).slice(0, MAX_ALLOWED_ROOMS_CHECKED)) {
    if (await ctx.graph.serverHasJoinedMember(allowed, origin)) return true;
  }
  return false;
};

const booleanParam = (text: string | undefined, name: string): boolean => {
  if (text === undefined) return false;
  if (text !== 'true' && text !== 'false') throw new MatrixError('M_INVALID_PARAM', 400, `'${name}' must be true or false`);
  return text === 'true';
};

export const getFederationHierarchy = async (
  ctx: HierarchyContext, origin: string, roomId: string, suggestedOnlyText: string | undefined,
): Promise<JsonObject> => {
  const suggestedOnly = booleanParam(suggestedOnlyText, 'suggested_only');
  // "every endpoint that names a room": a server the ACL bars gets the ACL's 403, not a 404.
  await ctx.acl.assertServerAllowed(roomId, origin);
  const root = await loadRoom(ctx, roomId);
  if (root === undefined || !(await serverMayPeekOrJoin(ctx, root, origin))) {
    throw new MatrixError('M_NOT_FOUND', 404, `Unknown room: ${roomId}`);
  }
  const childEvents = spaceChildren(root, suggestedOnly);
  const children: JsonObject[] = [];
  const inaccessible: string[] = [];
  for (const child of childEvents.slice(0, MAX_HIERARCHY_CHILDREN)) {
    const childId = child.stateKey!;
    const room = await loadRoom(ctx, childId);
    if (room === undefined) continue;
    if (await serverMayPeekOrJoin(ctx, room, origin)) children.push(roomSummaryFields(room));
    else inaccessible.push(childId);
  }
  return { room: hierarchyChunk(root, childEvents), children, inaccessible_children: inaccessible };
};
