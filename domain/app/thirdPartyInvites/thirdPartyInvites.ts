/**
 * Invites by third-party identifier (client-server-api § Third-party invites,
 * `POST /rooms/{roomId}/invite` with `id_server`, `id_access_token`, `medium`, `address`) and their
 * completion when the invitee binds the address (server-server-api `3pid/onbind`).
 *
 * The identity server is asked who the address belongs to (identity_service_api v2 hashed lookup:
 * `/hash_details`, then `/lookup`). A Matrix id is invited as usual. Otherwise the identity server
 * stores the invite (`/store-invite`) and the room gets an `m.room.third_party_invite` keyed by the
 * token it gave, holding its public keys; when the address is bound, the identity server sends the
 * invitee's homeserver the invite's `signed` block, and the inviter's invite of the invitee carries
 * it (`content.third_party_invite`). Both events go through the room writer: the decider checks
 * the inviter's power and the signature against the room's `m.room.third_party_invite`.
 */
import { createHash } from 'node:crypto';
import { MatrixError } from '../../errors.ts';
import { parseUserId } from '../../ids/index.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../json.ts';
import { IdentityServerError, type IdentityServers } from '../../ports/threePids.ts';
import type { RoomRequester, Rooms } from '../rooms/index.ts';

export interface ThirdPartyInvitesContext {
  readonly serverName: string;
  readonly identityServers: IdentityServers;
  /** Identity servers invites may go through (`trusted_third_party_id_servers`). */
  readonly trustedIdServers: readonly string[];
  readonly rooms: Pick<Rooms, 'invite' | 'putState' | 'getStateEvent' | 'getAlias'>;
  /**
   * Sends `exchange_third_party_invite` to the inviter's server (federation); rejects with
   * ExchangeFailed when it could not. Without it, other servers' invites are not completed.
   */
  readonly forwardExchange?: (destination: string, roomId: string, event: JsonObject) => Promise<void>;
}

/** The inviter's server did not take a forwarded invite. */
export class ExchangeFailed extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExchangeFailed';
  }
}

/** Bounds on what a client names and what an identity server answers. */
const MAX_ADDRESS_LENGTH = 500;
const MAX_FIELD_LENGTH = 2048;
const MAX_PUBLIC_KEYS = 16;
const MAX_ONBIND_INVITES = 100;

const invalid = (message: string): MatrixError => new MatrixError('M_INVALID_PARAM', 400, message);

const boundedString = (value: JsonValue | undefined, max: number): string | undefined =>
  (typeof value === 'string' && value.length > 0 && value.length <= max ? value : undefined);

const badAnswer = (what: string): MatrixError => new MatrixError('M_UNKNOWN', 502, `The identity server answered an unusable ${what}`);

/** An identity server's refusal passed on with its own code; an unreachable one is a bad gateway. */
const identityServerFailure = (error: unknown): MatrixError => {
  if (error instanceof IdentityServerError && error.status !== undefined && error.status >= 400 && error.status < 500) {
    return new MatrixError(error.errcode ?? 'M_UNKNOWN', error.status === 401 ? 403 : error.status, `The identity server refused: ${error.message}`);
  }
  if (error instanceof MatrixError) return error;
  return new MatrixError('M_UNKNOWN', 502, 'Failed to contact the identity server');
};

export interface ThirdPartyInviteRequest {
  readonly idServer: string;
  readonly idAccessToken: string;
  readonly medium: string;
  readonly address: string;
}

/** The body's 3PID invite fields, checked; undefined when it names none (a user id invite). */
export const thirdPartyInviteOf = (body: JsonObject): ThirdPartyInviteRequest | undefined => {
  if (body.medium === undefined && body.address === undefined && body.id_server === undefined) return undefined;
  for (const key of ['id_server', 'id_access_token', 'medium', 'address']) {
    if (body[key] === undefined) throw new MatrixError('M_MISSING_PARAM', 400, `Missing '${key}'`);
    if (boundedString(body[key], key === 'address' ? MAX_ADDRESS_LENGTH : MAX_FIELD_LENGTH) === undefined) {
      throw invalid(`'${key}' must be a non-empty string`);
    }
  }
  const medium = body.medium as string;
  // Synapse's canonical form of an email address, so the lookup finds it however it was typed.
  const address = medium === 'email' ? (body.address as string).trim().toLowerCase() : body.address as string;
  return { idServer: body.id_server as string, idAccessToken: body.id_access_token as string, medium, address };
};

/** v2 lookup: hashed with the server's pepper when it offers sha256, else in the clear ("none"). */
const lookup = async (ctx: ThirdPartyInvitesContext, request: ThirdPartyInviteRequest): Promise<string | undefined> => {
  const options = { accessToken: request.idAccessToken };
  const details = await ctx.identityServers.request(request.idServer, 'GET', '/_matrix/identity/v2/hash_details', options);
  const algorithms = Array.isArray(details.algorithms) ? details.algorithms : [];
  const pepper = boundedString(details.lookup_pepper, MAX_FIELD_LENGTH);
  if (pepper === undefined) throw badAnswer('lookup pepper');
  let algorithm: 'sha256' | 'none';
  let asked: string;
  if (algorithms.includes('sha256')) {
    algorithm = 'sha256';
    asked = createHash('sha256').update(`${request.address} ${request.medium} ${pepper}`, 'utf8').digest('base64url');
  } else if (algorithms.includes('none')) {
    algorithm = 'none';
    asked = `${request.address} ${request.medium}`;
  } else {
    throw new MatrixError('M_UNKNOWN', 400, 'The identity server supports no lookup algorithm this homeserver supports');
  }
  const answer = await ctx.identityServers.request(request.idServer, 'POST', '/_matrix/identity/v2/lookup', {
    ...options, body: { addresses: [asked], algorithm, pepper },
  });
  const mxid = isJsonObject(answer.mappings) ? answer.mappings[asked] : undefined;
  if (mxid === undefined) return undefined;
  if (typeof mxid !== 'string' || !parseUserId(mxid).ok) throw badAnswer('Matrix id');
  return mxid;
};

/** The `m.room.third_party_invite` content from a `/store-invite` answer, every field bounded. */
const thirdPartyInviteContent = (answer: JsonObject): { token: string; content: JsonObject } => {
  const token = boundedString(answer.token, 255);
  const displayName = boundedString(answer.display_name, 256);
  if (token === undefined || displayName === undefined || !Array.isArray(answer.public_keys)) throw badAnswer('invite');
  const publicKeys = answer.public_keys.slice(0, MAX_PUBLIC_KEYS).map((entry) => {
    const publicKey = isJsonObject(entry) ? boundedString(entry.public_key, 256) : undefined;
    const validityUrl = isJsonObject(entry) ? boundedString(entry.key_validity_url, MAX_FIELD_LENGTH) : undefined;
    if (publicKey === undefined || validityUrl === undefined || !/^https?:\/\//.test(validityUrl)) throw badAnswer('public key');
    return { public_key: publicKey, key_validity_url: validityUrl };
  });
  const first = publicKeys[0];
  if (first === undefined) throw badAnswer('invite without public keys');
  return { token, content: { display_name: displayName, key_validity_url: first.key_validity_url, public_key: first.public_key, public_keys: publicKeys } };
};

/** `POST /rooms/{roomId}/invite` naming a 3PID. */
export const inviteByThirdPartyId = async (
  ctx: ThirdPartyInvitesContext, requester: RoomRequester, roomId: string, request: ThirdPartyInviteRequest,
): Promise<void> => {
  if (!ctx.trustedIdServers.includes(request.idServer)) throw new MatrixError('M_SERVER_NOT_TRUSTED', 400, 'Untrusted identity server');
  // Only a member can invite (the decider judges the rest): nobody else makes us ask the identity
  // server about an address or store an invite there.
  const own = await ctx.rooms.getStateEvent(requester, roomId, 'm.room.member', requester.userId, 'content').catch((error: unknown) => {
    if (error instanceof MatrixError) return undefined;
    throw error;
  });
  if (own?.membership !== 'join') throw new MatrixError('M_FORBIDDEN', 403, `User ${requester.userId} not in room ${roomId}`);
  let stored: { token: string; content: JsonObject };
  try {
    const mxid = await lookup(ctx, request);
    if (mxid !== undefined) {
      await ctx.rooms.invite(requester, roomId, mxid);
      return;
    }
    stored = thirdPartyInviteContent(await ctx.identityServers.request(request.idServer, 'POST', '/_matrix/identity/v2/store-invite', {
      accessToken: request.idAccessToken,
      body: { medium: request.medium, address: request.address, room_id: roomId, sender: requester.userId },
    }));
  } catch (error) {
    throw identityServerFailure(error);
  }
  await ctx.rooms.putState(requester, roomId, 'm.room.third_party_invite', stored.token, stored.content);
};

/**
 * The inviter's invite of the invitee carrying the identity server's `signed` block and the
 * display name of the room's `m.room.third_party_invite` (Synapse's
 * `add_display_name_to_third_party_invite`); the decider verifies the signature against that
 * event's keys. Another server's invitee co-signs it as any invite.
 */
const completeInvite = async (ctx: ThirdPartyInvitesContext, inviter: string, roomId: string, invitee: string, signed: JsonObject & { token: string }) => {
  const requester: RoomRequester = { userId: inviter, deviceId: '' };
  const stored = await ctx.rooms.getStateEvent(requester, roomId, 'm.room.third_party_invite', signed.token, 'content');
  const displayName = typeof stored.display_name === 'string' ? stored.display_name : '';
  await ctx.rooms.invite(requester, roomId, invitee, undefined, { display_name: displayName, signed });
};

const signedOf = (value: JsonValue | undefined, mxid: string): (JsonObject & { token: string }) | undefined =>
  (isJsonObject(value) && value.mxid === mxid && typeof value.token === 'string' && value.token.length <= 255 ? value as JsonObject & { token: string } : undefined);

/**
 * `3pid/onbind`: the identity server says the address is now bound to `mxid` and hands over the
 * invites stored for it. An invite made by one of this server's users is completed here; one made
 * by another server's user is forwarded to that server (federation `exchange_third_party_invite`,
 * as Synapse does), which completes it in its room. An invite that cannot be completed does not
 * stop the others.
 */
export const onThirdPartyIdBound = async (ctx: ThirdPartyInvitesContext, body: JsonObject): Promise<{ failures: number }> => {
  const mxid = body.mxid;
  if (typeof mxid !== 'string' || !parseUserId(mxid).ok) throw invalid("'mxid' must be a user id");
  // The identity server calls the invitee's homeserver: an invitee of another server is not ours to invite this way.
  if (!mxid.endsWith(`:${ctx.serverName}`)) throw invalid("'mxid' is not a user of this server");
  const invites = body.invites;
  if (!Array.isArray(invites) || invites.length > MAX_ONBIND_INVITES) throw invalid(`'invites' must be a list of at most ${MAX_ONBIND_INVITES}`);
  let failures = 0;
  for (const invite of invites) {
    const signed = isJsonObject(invite) && invite.mxid === mxid ? signedOf(invite.signed, mxid) : undefined;
    const roomId = isJsonObject(invite) ? invite.room_id : undefined;
    const sender = isJsonObject(invite) ? invite.sender : undefined;
    if (signed === undefined || typeof roomId !== 'string' || typeof sender !== 'string' || !parseUserId(sender).ok) {
      throw invalid('each invite needs mxid, room_id, sender and signed');
    }
    try {
      if (sender.endsWith(`:${ctx.serverName}`)) await completeInvite(ctx, sender, roomId, mxid, signed);
      else if (ctx.forwardExchange === undefined) failures += 1;
      else {
        await ctx.forwardExchange(sender.slice(sender.indexOf(':') + 1), roomId, {
          type: 'm.room.member', room_id: roomId, sender, state_key: mxid,
          content: { membership: 'invite', third_party_invite: { signed } },
        });
      }
    } catch (error) {
      if (!(error instanceof MatrixError) && !(error instanceof ExchangeFailed)) throw error;
      failures += 1;
    }
  }
  return { failures };
};

/**
 * `PUT /_matrix/federation/v1/exchange_third_party_invite/{roomId}` (server-server-api
 * § Third-party invites): the invitee's server forwards an invite made by one of our users, once
 * the invitee bound the address; the inviter's invite is completed as for onbind. Whoever sends it,
 * only a `signed` block the identity server signed for the room's `m.room.third_party_invite`
 * passes the decider.
 */
export const exchangeThirdPartyInvite = async (ctx: ThirdPartyInvitesContext, roomId: string, event: JsonObject): Promise<void> => {
  const invitee = event.state_key;
  const sender = event.sender;
  const content = isJsonObject(event.content) ? event.content : undefined;
  const signed = typeof invitee === 'string' && isJsonObject(content?.third_party_invite) ? signedOf(content.third_party_invite.signed, invitee) : undefined;
  if (event.type !== 'm.room.member' || event.room_id !== roomId || content?.membership !== 'invite' || signed === undefined
    || typeof invitee !== 'string' || !parseUserId(invitee).ok || typeof sender !== 'string') {
    throw invalid('expected an m.room.member invite of the room carrying third_party_invite.signed for its state_key');
  }
  if (!sender.endsWith(`:${ctx.serverName}`)) throw new MatrixError('M_FORBIDDEN', 403, 'The inviter is not a user of this server');
  await completeInvite(ctx, sender, roomId, invitee, signed);
};

/**
 * A join with `third_party_signed` (joining.yaml): the identity server's signed block for the
 * joiner stands in for the invite they were not yet sent. As Synapse, the invite is completed first
 * (here when the inviter is ours, else by forwarding it to the inviter's server), then the join
 * proceeds as any other. Answers the room id (aliases resolved) and the servers to join through.
 */
export const inviteForThirdPartySignedJoin = async (
  ctx: ThirdPartyInvitesContext, requester: RoomRequester, roomIdOrAlias: string, thirdPartySigned: JsonValue,
): Promise<{ roomId: string; via: string[] }> => {
  const signed = signedOf(thirdPartySigned, requester.userId);
  const sender = isJsonObject(thirdPartySigned) ? thirdPartySigned.sender : undefined;
  if (signed === undefined || typeof sender !== 'string' || !parseUserId(sender).ok) {
    throw invalid("'third_party_signed' needs sender, mxid (the joining user), token and signatures");
  }
  let roomId = roomIdOrAlias;
  if (roomIdOrAlias.startsWith('#')) {
    const resolved = await ctx.rooms.getAlias(roomIdOrAlias);
    if (typeof resolved.room_id !== 'string') throw new MatrixError('M_NOT_FOUND', 404, `Room alias ${roomIdOrAlias} not found`);
    roomId = resolved.room_id;
  }
  const senderServer = sender.slice(sender.indexOf(':') + 1);
  if (senderServer === ctx.serverName) {
    await completeInvite(ctx, sender, roomId, requester.userId, signed);
    return { roomId, via: [] };
  }
  if (ctx.forwardExchange === undefined) throw new MatrixError('M_FORBIDDEN', 403, 'Cannot complete a third-party invite of another server');
  try {
    await ctx.forwardExchange(senderServer, roomId, {
      type: 'm.room.member', room_id: roomId, sender, state_key: requester.userId,
      content: { membership: 'invite', third_party_invite: { signed } },
    });
  } catch (error) {
    if (error instanceof ExchangeFailed) throw new MatrixError('M_UNKNOWN', 502, error.message);
    throw error;
  }
  return { roomId, via: [senderServer] };
};
