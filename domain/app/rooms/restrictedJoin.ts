/**
 * Joining a restricted room without an invite (client-server-api § Restricted rooms; since v8
 * `restricted`, since v10 `knock_restricted`). The joining server checks the allow conditions and
 * names in `join_authorised_via_users_server` one of its users who is joined and may invite, whom
 * the auth rules (5.3.5.2) check again. Only `m.room_membership` conditions exist: the user must be
 * joined to one of the allowed rooms, which here means a room this server holds.
 */
import { joinRuleOf, namedPowerLevel } from '../../auth/index.ts';
import { isJsonObject, type JsonObject } from '../../json.ts';
import type { RoomState } from '../../room/index.ts';
import type { RoomVersionRules } from '../../roomVersions/index.ts';
import { forbidden, lookupOf, membershipIn, powerOf } from './common.ts';
import type { RoomsContext } from './context.ts';

type WriterState = RoomState & { rules: RoomVersionRules };

/** What picking an authoriser reads: this server's name and the room's members. */
export type RestrictedJoinContext = Pick<RoomsContext, 'serverName'> & { readonly rooms: Pick<RoomsContext['rooms'], 'members'> };

/** Room ids of the allow conditions, or undefined when the join rule does not restrict joins in this room version. */
export const restrictingRooms = (state: WriterState): string[] | undefined => {
  const lookup = lookupOf(state);
  const joinRule = joinRuleOf(lookup);
  const restricted = (joinRule === 'restricted' && state.rules.auth.restrictedJoins)
    || (joinRule === 'knock_restricted' && state.rules.auth.knockRestrictedJoinRule);
  if (!restricted) return undefined;
  const allow = lookup('m.room.join_rules', '')?.content.allow;
  return (Array.isArray(allow) ? allow : [])
    .filter((entry) => isJsonObject(entry) && entry.type === 'm.room_membership' && typeof entry.room_id === 'string')
    .map((entry) => (entry as JsonObject).room_id as string);
};

/**
 * As Synapse: of this server's joined members, the one with the highest power level (ties: the
 * smallest user id), provided that reaches the `invite` level.
 */
const authoriserIn = async (ctx: RestrictedJoinContext, roomId: string, state: WriterState): Promise<string | undefined> => {
  const local = (await ctx.rooms.members(roomId))
    .map((event) => event.stateKey)
    .filter((userId): userId is string => userId !== null && userId.endsWith(`:${ctx.serverName}`) && membershipIn(state, userId) === 'join')
    .sort();
  let best: { userId: string; power: number } | undefined;
  for (const userId of local) {
    const power = powerOf(state, userId);
    if (best === undefined || power > best.power) best = { userId, power };
  }
  const inviteLevel = namedPowerLevel('invite', lookupOf(state), state.rules);
  return best !== undefined && best.power >= inviteLevel ? best.userId : undefined;
};

/**
 * Extra content of a local user's join: `{ join_authorised_via_users_server }` when the room is
 * restricted and the user is neither joined nor invited ("If the user has an invite to the room then
 * the restrictions will not affect them"), else nothing. 403 (joining.yaml: "You do not have
 * permission to join the room") when no condition is met or no local member may invite; over
 * federation the latter would be M_UNABLE_TO_GRANT_JOIN, but joining.yaml documents only 403 here.
 */
export const restrictedJoinContent = async (ctx: RestrictedJoinContext, roomId: string, state: WriterState, userId: string): Promise<JsonObject> => {
  const allowed = restrictingRooms(state);
  if (allowed === undefined) return {};
  const membership = membershipIn(state, userId);
  if (membership === 'join' || membership === 'invite') return {};
  // Whether the user meets an allow condition, and whether the authoriser may invite, is the
  // decider's judgement (domain/room/localPolicy.ts, auth rules); this only picks the authoriser.
  const authoriser = await authoriserIn(ctx, roomId, state);
  if (authoriser === undefined) {
    throw forbidden('No user of this server in the room may invite, so none can authorise the join');
  }
  return { join_authorised_via_users_server: authoriser };
};
