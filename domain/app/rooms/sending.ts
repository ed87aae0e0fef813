/**
 * Sending events (room_send.yaml, room_state.yaml PUT, redaction.yaml). Transaction ids are scoped
 * to the device (client-server-api § Transaction identifiers): a retry with the same one answers
 * the first event id and appends nothing.
 */
import { isMatrixError } from '../../errors.ts';
import type { JsonObject } from '../../json.ts';
import { invalidParam, inviteeProfile, membershipIn, notInRoom, originOf } from './common.ts';
import type { RoomRequester, RoomsContext } from './context.ts';

/**
 * A refused send from someone not joined, or to a room this server does not know, gets the one
 * answer membership.ts and reading.ts give, so sending does not tell whether a room exists. Looked
 * at only once the writer refused (a retried transaction id still answers its first event).
 */
const asOutsider = (ctx: RoomsContext, requester: RoomRequester, roomId: string) => async (error: unknown): Promise<never> => {
  if (!isMatrixError(error) || error.status >= 500) throw error;
  const state = await ctx.writer.state(roomId);
  if (state === undefined || state.rules === null || membershipIn(state, requester.userId) !== 'join') throw notInRoom(requester.userId, roomId);
  throw error;
};

/**
 * The `ts` query parameter of an application service's send or state request (application-service-api.md
 * § Timestamp massaging): its event's origin_server_ts. Ignored for everyone else, as Synapse.
 */
export const massagedTimestamp = (requester: RoomRequester, ts: string | undefined): { originServerTs?: number } => {
  if (ts === undefined || requester.appservice === undefined) return {};
  const value = /^[0-9]{1,16}$/.test(ts) ? Number(ts) : NaN;
  if (!Number.isSafeInteger(value)) throw invalidParam("Query parameter 'ts' must be a non-negative integer");
  return { originServerTs: value };
};

export const sendMessage = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, type: string, txnId: string | null, content: JsonObject, ts?: string,
): Promise<string> => {
  // A second m.room.create, like every other event, is the decider's to refuse (localPolicy.ts).
  const result = await ctx.writer.send(roomId, { type, sender: requester.userId, content, ...massagedTimestamp(requester, ts) }, originOf(requester, txnId))
    .catch(asOutsider(ctx, requester, roomId));
  return result.eventId;
};

export const putState = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, type: string, stateKey: string, content: JsonObject, ts?: string,
): Promise<string> => {
  const timestamp = massagedTimestamp(requester, ts);
  if (type === 'm.room.member') {
    // Membership has its own endpoints, but clients also set their own profile per room this way.
    if (typeof content.membership !== 'string') throw invalidParam("m.room.member content needs 'membership'");
    // An invite this way reaches a bridge's unknown user as one through /invite does.
    if (content.membership === 'invite' && stateKey.endsWith(`:${ctx.serverName}`)) await inviteeProfile(ctx, stateKey);
  }
  // Whether a canonical alias's aliases point here is the decider's judgement (localPolicy.ts);
  // the writer preloads them from the directory.
  const result = await ctx.writer.send(roomId, { type, stateKey, sender: requester.userId, content, ...timestamp }, originOf(requester))
    .catch(asOutsider(ctx, requester, roomId));
  return result.eventId;
};

/**
 * `PUT /rooms/{roomId}/redact/{eventId}/{txnId}` (redaction.yaml). Who may redact what, and
 * whether the redaction takes effect, is the decider's judgement (domain/room/redactions.ts); the
 * writer preloads the target for it.
 */
export const redact = async (
  ctx: RoomsContext, requester: RoomRequester, roomId: string, eventId: string, txnId: string, reason: string | undefined,
): Promise<string> => {
  const content: JsonObject = reason === undefined ? {} : { reason };
  // Since v11 `redacts` moves into content; the decider places it for the room's version.
  const result = await ctx.writer.send(
    roomId, { type: 'm.room.redaction', sender: requester.userId, content, redacts: eventId }, originOf(requester, txnId))
    .catch(asOutsider(ctx, requester, roomId));
  return result.eventId;
};
