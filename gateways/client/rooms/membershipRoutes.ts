/** Membership routes: createRoom, join, knock, leave, forget, invite, kick, ban, unban, upgrade. */
import type { RoomRequester, Rooms } from '../../../domain/app/rooms/index.ts';
import { thirdPartyInviteOf, type ThirdPartyInviteRequest } from '../../../domain/app/thirdPartyInvites/index.ts';
import { MatrixError, parseServerName, type JsonValue } from '../../../domain/index.ts';
import type { StrataMiddleware, StrataRouter } from '../../http/index.ts';
import { allowGuests, clientPaths } from '../accounts/index.ts';
import { body, optionalReason, param, requireUserId, roomRequester } from './common.ts';

/** `via` (since v1.12) and its predecessor `server_name`: servers to join through, bounded and valid only. */
const viaServers = (query: Record<string, string | string[] | undefined>): string[] =>
  [query.via, query.server_name].flatMap((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]))
    .filter((server) => parseServerName(server).ok).slice(0, 20);

/** Invites by third-party identifier (domain/app/thirdPartyInvites). */
export interface ThirdPartyInviter {
  invite(requester: RoomRequester, roomId: string, request: ThirdPartyInviteRequest): Promise<void>;
  /** A join's `third_party_signed`: the invite it stands for, completed; the room id and servers to join through. */
  inviteForJoin(requester: RoomRequester, roomIdOrAlias: string, thirdPartySigned: JsonValue): Promise<{ roomId: string; via: string[] }>;
}

/**
 * A join with `third_party_signed` first has its invite completed (thirdPartyInvites); without
 * third-party invites here, the block cannot be honoured.
 */
const joinTarget = async (
  inviter: ThirdPartyInviter | undefined, requester: RoomRequester, roomIdOrAlias: string, thirdPartySigned: JsonValue | undefined, via: string[],
): Promise<{ room: string; via: string[] }> => {
  if (thirdPartySigned === undefined || thirdPartySigned === null) return { room: roomIdOrAlias, via };
  if (inviter === undefined) throw new MatrixError('M_FORBIDDEN', 403, 'Third-party invites are not supported here');
  const target = await inviter.inviteForJoin(requester, roomIdOrAlias, thirdPartySigned);
  return { room: target.roomId, via: [...via, ...target.via] };
};

export const addMembershipRoutes = (router: StrataRouter, rooms: Rooms, auth: StrataMiddleware, thirdPartyInvites?: ThirdPartyInviter): void => {
  for (const path of clientPaths('/createRoom')) {
    router.post(path, auth, async (ctx) => {
      const result = await rooms.createRoom(roomRequester(ctx), await body(ctx, undefined, true));
      ctx.body = result.alias === undefined ? { room_id: result.roomId } : { room_id: result.roomId, room_alias: result.alias };
    });
  }
  for (const path of clientPaths('/join/:roomIdOrAlias')) {
    router.post(path, allowGuests, auth, async (ctx) => {
      const request = await body(ctx, undefined, true);
      // joining.yaml names `reason` and `third_party_signed`; Synapse copies any other key into the
      // join's content (only here: /rooms/{roomId}/join and the other membership endpoints take `reason`).
      const { reason: _reason, third_party_signed: signed, ...fields } = request;
      const { room, via } = await joinTarget(thirdPartyInvites, roomRequester(ctx), param(ctx, 'roomIdOrAlias'), signed, viaServers(ctx.query));
      ctx.body = { room_id: await rooms.join(roomRequester(ctx), room, optionalReason(request), via, fields) };
    });
  }
  for (const path of clientPaths('/knock/:roomIdOrAlias')) {
    router.post(path, auth, async (ctx) => {
      const request = await body(ctx, undefined, true);
      ctx.body = { room_id: await rooms.knock(roomRequester(ctx), param(ctx, 'roomIdOrAlias'), optionalReason(request), viaServers(ctx.query)) };
    });
  }
  for (const path of clientPaths('/rooms/:roomId/join')) {
    router.post(path, allowGuests, auth, async (ctx) => {
      const request = await body(ctx, undefined, true);
      const { room, via } = await joinTarget(thirdPartyInvites, roomRequester(ctx), param(ctx, 'roomId'), request.third_party_signed, []);
      ctx.body = { room_id: await rooms.join(roomRequester(ctx), room, optionalReason(request), via) };
    });
  }
  for (const path of clientPaths('/rooms/:roomId/leave')) {
    router.post(path, allowGuests, auth, async (ctx) => {
      const request = await body(ctx, undefined, true);
      await rooms.leave(roomRequester(ctx), param(ctx, 'roomId'), optionalReason(request));
      ctx.body = {};
    });
  }
  for (const path of clientPaths('/rooms/:roomId/forget')) {
    router.post(path, auth, async (ctx) => {
      await body(ctx, undefined, true);
      await rooms.forget(roomRequester(ctx), param(ctx, 'roomId'));
      ctx.body = {};
    });
  }
  const targeted = { invite: rooms.invite, kick: rooms.kick, ban: rooms.ban, unban: rooms.unban } as const;
  for (const [action, run] of Object.entries(targeted)) {
    for (const path of clientPaths(`/rooms/:roomId/${action}`)) {
      router.post(path, auth, async (ctx) => {
        const request = await body(ctx);
        // An invite may name a third-party identifier instead of a user (§ Third-party invites).
        const threePid = action === 'invite' ? thirdPartyInviteOf(request) : undefined;
        if (threePid === undefined) await run(roomRequester(ctx), param(ctx, 'roomId'), requireUserId(request), optionalReason(request));
        else if (thirdPartyInvites === undefined) throw new MatrixError('M_SERVER_NOT_TRUSTED', 400, 'Untrusted identity server');
        else await thirdPartyInvites.invite(roomRequester(ctx), param(ctx, 'roomId'), threePid);
        ctx.body = {};
      });
    }
  }
  for (const path of clientPaths('/rooms/:roomId/upgrade')) {
    router.post(path, auth, async (ctx) => {
      ctx.body = { replacement_room: await rooms.upgradeRoom(roomRequester(ctx), param(ctx, 'roomId'), await body(ctx)) };
    });
  }
};
