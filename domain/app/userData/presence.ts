/** Presence (client-server-api § Presence, presence.yaml). */
import { MatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import type { PresenceState } from '../../ports/userData.ts';
import type { Requester, UserDataContext } from './context.ts';
import { forbidden, invalidParam } from './errors.ts';
import { currentlyActive, SYNAPSE_PRESENCE_TIMERS } from './presenceTracker.ts';

const PRESENCE_STATES = new Set(['online', 'offline', 'unavailable']);

/**
 * The `m.presence` content / GET response for a stored state. `currently_active` holds for the
 * granularity after the last activity (the tracker writes again when it ends).
 */
export const presenceContent = (
  state: PresenceState, now: number, granularityMs = SYNAPSE_PRESENCE_TIMERS.lastActiveGranularityMs,
): JsonObject => ({
  presence: state.presence,
  last_active_ago: Math.max(0, now - state.lastActiveTs),
  currently_active: currentlyActive(state, now, granularityMs),
  ...(state.statusMsg === undefined ? {} : { status_msg: state.statusMsg }),
});

/** `GET /presence/{userId}/status`: visible to the user and to users sharing a room with them (403 otherwise, as Synapse). */
export const getPresence = async (ctx: UserDataContext, requester: Requester, userId: string): Promise<JsonObject> => {
  if (requester.userId !== userId && !(await ctx.membership.usersSharingRoomsWith(requester.userId)).has(userId)) {
    throw forbidden('You do not share a room with this user');
  }
  const state = await ctx.stores.presence.get(userId);
  // A user who never set presence nor synced is offline (Synapse's default state), not unknown:
  // users nobody may see were refused above, so this tells nothing of which accounts exist.
  if (state === undefined) return { presence: 'offline' };
  return presenceContent(state, ctx.clock.now(), ctx.presence.timers.lastActiveGranularityMs);
};

/** `PUT /presence/{userId}/status`. */
export const setPresence = async (ctx: UserDataContext, requester: Requester, userId: string, body: JsonObject): Promise<void> => {
  if (requester.userId !== userId) throw forbidden('Cannot set the presence of another user');
  const { presence, status_msg: statusMsg } = body;
  if (presence === undefined) throw new MatrixError('M_MISSING_PARAM', 400, "Missing 'presence'");
  if (typeof presence !== 'string' || !PRESENCE_STATES.has(presence)) throw invalidParam("'presence' must be online, offline or unavailable");
  if (statusMsg !== undefined && statusMsg !== null && typeof statusMsg !== 'string') throw invalidParam("'status_msg' must be a string");
  await ctx.presence.set(userId, presence as PresenceState['presence'], typeof statusMsg === 'string' ? statusMsg : undefined);
};
