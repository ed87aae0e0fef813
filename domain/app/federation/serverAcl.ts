/**
 * Server ACLs at the federation boundary (server-server-api § Server Access Control Lists): "When
 * a remote server makes a request, it MUST be verified to be allowed by the server ACLs. If the
 * server is denied access to a room, the receiving server MUST reply with a 403 HTTP status code
 * and an errcode of M_FORBIDDEN." Every inbound endpoint that names a room asks here first (state,
 * backfill, event_auth, get_missing_events, make/send_join, leave, knock, invite); /send asks
 * `isServerAllowed` per PDU and per room-scoped EDU, which it must ignore rather than refuse.
 *
 * The ACL is the room's current `m.room.server_acl` (as Synapse checks it); a room this server does
 * not know has none, so the request goes on to whatever the endpoint answers for an unknown room.
 */
import { MatrixError } from '../../errors.ts';
import { parseServerAcl, serverAclAllows } from '../../federation/serverAcl.ts';
import type { RoomReadModel } from '../../ports/rooms.ts';

export interface ServerAclGuard {
  /** Whether the room's current server ACL lets `origin` (a server name, port or not) take part. */
  isServerAllowed(roomId: string, origin: string): Promise<boolean>;
  /** Throws 403 M_FORBIDDEN when the room's current server ACL denies `origin`. */
  assertServerAllowed(roomId: string, origin: string): Promise<void>;
}

export const createServerAclGuard = (rooms: Pick<RoomReadModel, 'stateEvent'>): ServerAclGuard => {
  const isServerAllowed = async (roomId: string, origin: string): Promise<boolean> => {
    const event = await rooms.stateEvent(roomId, 'm.room.server_acl', '');
    // The stored PDU is already redacted when the ACL was: its empty content then denies everyone.
    return serverAclAllows(event === undefined ? undefined : parseServerAcl(event.pdu.content ?? {}), origin);
  };
  return {
    isServerAllowed,
    async assertServerAllowed(roomId, origin) {
      if (!(await isServerAllowed(roomId, origin))) throw new MatrixError('M_FORBIDDEN', 403, 'Server is banned from room');
    },
  };
};
