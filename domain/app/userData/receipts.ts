/**
 * Receipts (client-server-api § Receipts, receipts.yaml), read markers (§ Fully read markers,
 * read_markers.yaml) and typing (typing.yaml). Sending any of them needs the user to be joined.
 */
import { isEventId } from '../../ids/index.ts';
import type { JsonObject } from '../../json.ts';
import type { Receipt } from '../../ports/userData.ts';
import { accountDataChanged } from './accountData.ts';
import type { Requester, UserDataContext } from './context.ts';
import { forbidden, invalidParam, requireRoomId } from './errors.ts';
import { sendReceipt as sendReceiptEdu, sendTyping } from './federationEdus.ts';

const RECEIPT_TYPES = new Set(['m.read', 'm.read.private']);
const FULLY_READ = 'm.fully_read';

const requireJoined = async (ctx: UserDataContext, roomId: string, userId: string): Promise<void> => {
  requireRoomId(roomId);
  if (!(await ctx.membership.isJoined(roomId, userId))) throw forbidden(`${userId} is not in room ${roomId}`);
};

const requireEventId = (eventId: unknown, what: string): string => {
  if (typeof eventId !== 'string' || !isEventId(eventId)) throw invalidParam(`${what} must be an event id`);
  return eventId;
};

const setFullyRead = async (ctx: UserDataContext, userId: string, roomId: string, eventId: string): Promise<void> => {
  await ctx.stores.accountData.update(userId, roomId, FULLY_READ, () => ({ event_id: eventId }));
  accountDataChanged(ctx, userId);
};

const putReceipt = async (
  ctx: UserDataContext, userId: string, roomId: string, receiptType: string, eventId: string, threadId: string | undefined,
): Promise<void> => {
  const ts = ctx.clock.now();
  await ctx.stores.receipts.put({ roomId, receiptType, userId, eventId, ...(threadId === undefined ? {} : { threadId }), ts });
  // A private receipt concerns its owner only; a public one everyone in the room, on every server.
  ctx.notifier.notify(receiptType === 'm.read.private' ? [userId] : [roomId]);
  if (receiptType === 'm.read') await sendReceiptEdu(ctx, { roomId, userId, eventId, ...(threadId === undefined ? {} : { threadId }), ts });
  ctx.onReadReceipt?.(userId);
};

/** `POST /rooms/{roomId}/receipt/{receiptType}/{eventId}`. */
export const sendReceipt = async (
  ctx: UserDataContext, requester: Requester, roomId: string, receiptType: string, eventId: string, body: JsonObject,
): Promise<void> => {
  if (receiptType !== FULLY_READ && !RECEIPT_TYPES.has(receiptType)) throw invalidParam(`Unknown receipt type ${receiptType}`);
  requireEventId(eventId, 'The receipt target');
  let threadId: string | undefined;
  if (body.thread_id !== undefined) {
    // Since v1.4: threaded receipts; `main` is the main timeline.
    if (typeof body.thread_id !== 'string' || body.thread_id === '') throw invalidParam('thread_id field must be a non-empty string');
    if (receiptType === FULLY_READ) throw invalidParam('thread_id is not allowed for m.fully_read');
    // `main` or a thread root's event id: an identifier, and a key of the receipts table.
    if (body.thread_id !== 'main' && !isEventId(body.thread_id)) throw invalidParam('thread_id must be "main" or an event id');
    threadId = body.thread_id;
  }
  await requireJoined(ctx, roomId, requester.userId);
  if (receiptType === FULLY_READ) await setFullyRead(ctx, requester.userId, roomId, eventId);
  else await putReceipt(ctx, requester.userId, roomId, receiptType, eventId, threadId);
};

/** `POST /rooms/{roomId}/read_markers`: the fully read marker and, optionally, receipts. */
export const setReadMarkers = async (ctx: UserDataContext, requester: Requester, roomId: string, body: JsonObject): Promise<void> => {
  const fullyRead = body[FULLY_READ] === undefined ? undefined : requireEventId(body[FULLY_READ], FULLY_READ);
  const receipts = [...RECEIPT_TYPES].flatMap((type) => (body[type] === undefined ? [] : [[type, requireEventId(body[type], type)] as const]));
  await requireJoined(ctx, roomId, requester.userId);
  if (fullyRead !== undefined) await setFullyRead(ctx, requester.userId, roomId, fullyRead);
  for (const [type, eventId] of receipts) await putReceipt(ctx, requester.userId, roomId, type, eventId, undefined);
};

/** `PUT /rooms/{roomId}/typing/{userId}`. */
export const setTyping = async (
  ctx: UserDataContext, requester: Requester, roomId: string, userId: string, body: JsonObject,
): Promise<void> => {
  if (requester.userId !== userId) throw forbidden('Cannot set the typing state of another user');
  if (typeof body.typing !== 'boolean') throw invalidParam("'typing' must be a boolean");
  const timeout = body.timeout ?? 30_000;
  if (body.typing && (typeof timeout !== 'number' || !Number.isSafeInteger(timeout) || timeout < 0)) {
    throw invalidParam("'timeout' must be a non-negative integer");
  }
  await requireJoined(ctx, roomId, userId);
  ctx.typing.setTyping(roomId, userId, body.typing, timeout as number);
  // Every request is sent on, a refresh included: it keeps the user typing on servers that time
  // remote typing out on their own (Synapse after 60 s).
  await sendTyping(ctx, roomId, userId, body.typing);
};

/**
 * The `m.receipt` content per room for `viewer`: `{ eventId: { type: { userId: { ts, thread_id? } } } }`.
 * Others' `m.read.private` receipts are left out: only their owner sees them.
 */
export const receiptContents = (viewer: string, receipts: readonly Receipt[]): Map<string, JsonObject> => {
  const byRoom = new Map<string, Record<string, Record<string, Record<string, JsonObject>>>>();
  for (const receipt of receipts) {
    if (receipt.receiptType === 'm.read.private' && receipt.userId !== viewer) continue;
    let room = byRoom.get(receipt.roomId);
    if (room === undefined) byRoom.set(receipt.roomId, (room = {}));
    const event = (room[receipt.eventId] ??= {});
    const ofType = (event[receipt.receiptType] ??= {});
    ofType[receipt.userId] = { ts: receipt.ts, ...(receipt.threadId === undefined ? {} : { thread_id: receipt.threadId }) };
  }
  return byRoom as Map<string, JsonObject>;
};
