/**
 * Rooms across servers: other servers' users joining, leaving, knocking and being invited here,
 * their transactions, and our users in rooms that live elsewhere. Bound once in the composition root.
 */
import type { JsonObject } from '../../../json.ts';
import type { RoomFederation } from '../../rooms/context.ts';
import type { FederationRoomsContext } from './context.ts';
import { makeMembership, receiveInvite, sendJoin, sendKnock, sendLeave } from './membership.ts';
import { createRoomFederation } from './outbound.ts';
import { createTransactionReceiver, type EduSink } from './transactions.ts';

export type { FederationRoomsContext } from './context.ts';
export { createBackfill, type Backfill } from './backfill.ts';
export { MAX_TRANSACTION_EDUS, MAX_TRANSACTION_PDUS, type EduSink } from './transactions.ts';
export { strippedStateOf } from './membership.ts';

export interface FederationRooms {
  makeMembership(origin: string, roomId: string, userId: string, membership: 'join' | 'leave' | 'knock', versions?: readonly string[]): Promise<JsonObject>;
  sendJoin(origin: string, roomId: string, eventId: string, body: unknown): Promise<JsonObject>;
  sendLeave(origin: string, roomId: string, eventId: string, body: unknown): Promise<JsonObject>;
  sendKnock(origin: string, roomId: string, eventId: string, body: unknown): Promise<JsonObject>;
  receiveInvite(origin: string, roomId: string, eventId: string, body: unknown): Promise<JsonObject>;
  receiveTransaction(origin: string, txnId: string, body: unknown): Promise<JsonObject>;
  /** For the client use-cases: our users in rooms elsewhere. */
  readonly outbound: RoomFederation;
}

export const createFederationRooms = (ctx: FederationRoomsContext, options: { edus?: EduSink; onError: (error: unknown) => void }): FederationRooms => {
  const transactions = createTransactionReceiver(ctx, options.edus, options.onError);
  return {
    makeMembership: (origin, roomId, userId, membership, versions) => makeMembership(ctx, origin, roomId, userId, membership, versions),
    sendJoin: (origin, roomId, eventId, body) => sendJoin(ctx, origin, roomId, eventId, body),
    sendLeave: (origin, roomId, eventId, body) => sendLeave(ctx, origin, roomId, eventId, body),
    sendKnock: (origin, roomId, eventId, body) => sendKnock(ctx, origin, roomId, eventId, body),
    receiveInvite: (origin, roomId, eventId, body) => receiveInvite(ctx, origin, roomId, eventId, body),
    receiveTransaction: (origin, txnId, body) => transactions.receive(origin, txnId, body),
    outbound: createRoomFederation(ctx),
  };
};
