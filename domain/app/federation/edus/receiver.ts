/**
 * The EDUs of an inbound transaction (`PUT /_matrix/federation/v1/send/{txnId}`, its `edus`),
 * applied in order through the user-data streams (domain/app/userData/remoteEdus.ts), so our users'
 * /sync shows them as it shows local ones.
 *
 * Bad input never fails the transaction: an EDU that is malformed, oversized, about another
 * server's user, or about a room or user its origin has no business with is skipped and logged.
 * What its origin may speak for, beyond its own users (parse.ts):
 * - typing: the user is joined to the room;
 * - receipts: the origin has a joined member in the room (Synapse's check);
 * - presence, device lists, signing keys: the user shares a room with one of our users; nobody
 *   here could see the change otherwise, and it would only fill our stores.
 * Failing to store a to-device message or a device-list change does fail the transaction (it
 * throws after the other EDUs were applied), so its origin retries it: those EDUs are durable on
 * their sender's side, and retries are harmless (to-device messages are deduplicated by
 * `message_id`, a device-list change only wakes clients again). Typing, receipts and presence are
 * best effort on both sides: a failure is logged.
 */
import type { RoomMembership, RoomServers } from '../../../ports/userData.ts';
import type { RemoteUserData } from '../../userData/remoteEdus.ts';
import { EDU_LIMITS } from './limits.ts';
import { eduBytes, parseEdu, type InboundEdu } from './parse.ts';

/** Where skipped EDUs are reported (a pino logger fits). */
export interface EduLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface EduReceiverContext {
  /** Our server name: to-device messages are delivered to our users only. */
  readonly serverName: string;
  readonly membership: Pick<RoomMembership, 'isJoined'>;
  readonly rooms: Pick<RoomServers, 'serversInRoom' | 'serversSharingRoomsWith'>;
  readonly userData: Pick<RemoteUserData, 'typing' | 'receipt' | 'presence' | 'deviceListChanged' | 'toDevice'>;
  readonly clock: { now(): number };
  readonly log?: EduLog;
  /** The rooms' server ACLs: typing and receipts from a server a room bans are ignored (§ Server ACLs). */
  readonly acl?: { isServerAllowed(roomId: string, origin: string): Promise<boolean> };
}

export interface EduReceiver {
  /** Applies the transaction's EDUs from `origin` (already authenticated by the request's signature). */
  receive(origin: string, edus: readonly unknown[]): Promise<void>;
}

const typeOf = (raw: unknown): string | undefined => {
  const type = typeof raw === 'object' && raw !== null ? (raw as { edu_type?: unknown }).edu_type : undefined;
  return typeof type === 'string' ? type.slice(0, EDU_LIMITS.identifierBytes) : undefined;
};

/** Answers per transaction, so several EDUs about one room or user cost one query. */
const memo = <T>(load: (key: string) => Promise<T>) => {
  const known = new Map<string, Promise<T>>();
  return (key: string): Promise<T> => {
    let answer = known.get(key);
    if (answer === undefined) known.set(key, (answer = load(key)));
    return answer;
  };
};

export const createEduReceiver = (ctx: EduReceiverContext): EduReceiver => {
  const receive = async (origin: string, edus: readonly unknown[]): Promise<void> => {
    const skip = (raw: unknown, reason: string, extra: Record<string, unknown> = {}): void => {
      ctx.log?.warn({ origin, edu_type: typeOf(raw), reason, ...extra }, 'skipped an EDU');
    };
    // A server the room's ACL bans is not in the room as far as its EDUs go.
    const originInRoom = memo(async (roomId) => (await ctx.rooms.serversInRoom(roomId)).includes(origin)
      && (ctx.acl === undefined || (await ctx.acl.isServerAllowed(roomId, origin))));
    const allowedIn = memo(async (roomId) => ctx.acl === undefined || ctx.acl.isServerAllowed(roomId, origin));
    // Servers rather than users: a handful of names, where a large room has thousands of members.
    const sharesRoomWithUs = memo(async (userId) => (await ctx.rooms.serversSharingRoomsWith(userId)).includes(ctx.serverName));
    // A user whose keys changed several times in one transaction is announced once.
    const keysChanged = new Set<string>();
    let durableFailure: unknown;

    const apply = async (raw: unknown, edu: InboundEdu): Promise<void> => {
      switch (edu.kind) {
        case 'typing':
          if (!(await ctx.membership.isJoined(edu.roomId, edu.userId))) return skip(raw, 'the user is not joined to the room');
          if (!(await allowedIn(edu.roomId))) return skip(raw, 'the room\'s server ACL denies the origin');
          ctx.userData.typing(edu.roomId, edu.userId, edu.typing);
          return;
        case 'receipts': {
          // Logged once per room: one EDU may carry a thousand receipts of a room.
          const refusedRooms = new Set<string>();
          for (const receipt of edu.receipts) {
            if (refusedRooms.has(receipt.roomId)) continue;
            if (!(await originInRoom(receipt.roomId))) {
              refusedRooms.add(receipt.roomId);
              skip(raw, 'the origin is not in the room', { room_id: receipt.roomId });
              continue;
            }
            await ctx.userData.receipt({ ...receipt, receiptType: 'm.read' });
          }
          if (edu.dropped > 0) skip(raw, 'receipts of other servers\' users or malformed', { dropped: edu.dropped });
          return;
        }
        case 'presence': {
          const now = ctx.clock.now();
          for (const update of edu.updates) {
            if (!(await sharesRoomWithUs(update.userId))) continue;
            await ctx.userData.presence({
              userId: update.userId, presence: update.presence, lastActiveTs: now - update.lastActiveAgo,
              ...(update.statusMsg === undefined ? {} : { statusMsg: update.statusMsg }),
            });
          }
          if (edu.dropped > 0) skip(raw, 'presence of other servers\' users or malformed', { dropped: edu.dropped });
          return;
        }
        case 'keysChanged':
          if (await sharesRoomWithUs(edu.userId)) keysChanged.add(edu.userId);
          return;
        case 'toDevice': {
          if (edu.dropped > 0) skip(raw, 'to-device messages for other servers\' users', { dropped: edu.dropped });
          try {
            await ctx.userData.toDevice(edu.sender, edu.messageId, edu.type, edu.messages);
          } catch (error) {
            durableFailure ??= error;
            ctx.log?.warn({ origin, edu_type: 'm.direct_to_device', err: error }, 'could not store to-device messages');
          }
        }
      }
    };

    for (const [index, raw] of edus.entries()) {
      if (index >= EDU_LIMITS.edusPerTransaction) {
        skip(undefined, `more than ${EDU_LIMITS.edusPerTransaction} EDUs in the transaction`, { skipped: edus.length - index });
        break;
      }
      const bytes = eduBytes(raw);
      if (bytes === undefined || bytes > EDU_LIMITS.eduBytes) {
        skip(raw, 'oversized', { bytes });
        continue;
      }
      const parsed = parseEdu(raw, origin, ctx.serverName);
      if (!parsed.ok) {
        skip(raw, parsed.reason);
        continue;
      }
      try {
        await apply(raw, parsed.edu);
      } catch (error) {
        // Reading membership or writing typing, receipts or presence failed: best effort.
        ctx.log?.warn({ origin, edu_type: typeOf(raw), err: error }, 'could not apply an EDU');
      }
    }
    for (const userId of keysChanged) {
      try {
        await ctx.userData.deviceListChanged(userId);
      } catch (error) {
        durableFailure ??= error;
        ctx.log?.warn({ origin, user_id: userId, err: error }, 'could not record a remote device-list change');
      }
    }
    if (durableFailure !== undefined) throw durableFailure;
  };

  return { receive };
};
