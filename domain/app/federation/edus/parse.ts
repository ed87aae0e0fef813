/**
 * The EDUs another server may send (server-server-api § EDUs; the schemas in
 * data/api/server-server/definitions/event-schemas/), parsed from untrusted JSON, bounded
 * (limits.ts) and checked against their origin: a server speaks only for its own users, so an
 * update about a user of another server is dropped. Pure: membership checks happen in receiver.ts.
 * An EDU whose shape is wrong is refused whole; in the EDUs listing many users (receipts,
 * presence) an entry about another server's user is dropped alone, as Synapse does.
 */
import { isEventId, isRoomId, isUserId, userServerName, utf8Length, type UserId } from '../../../ids/index.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../../../json.ts';
import type { PresenceState } from '../../../ports/userData.ts';
import type { RemoteToDeviceMessage } from '../../userData/remoteEdus.ts';
import { EDU_LIMITS } from './limits.ts';

export interface TypingUpdate { readonly kind: 'typing'; readonly roomId: string; readonly userId: string; readonly typing: boolean }
export interface ReceiptUpdate { readonly roomId: string; readonly userId: string; readonly eventId: string; readonly threadId?: string; readonly ts: number }
export interface ReceiptsUpdate { readonly kind: 'receipts'; readonly receipts: readonly ReceiptUpdate[]; readonly dropped: number }
export interface PresenceUpdate {
  readonly userId: string;
  readonly presence: PresenceState['presence'];
  readonly statusMsg?: string;
  readonly lastActiveAgo: number;
}
export interface PresenceUpdates { readonly kind: 'presence'; readonly updates: readonly PresenceUpdate[]; readonly dropped: number }
/** m.device_list_update and m.signing_key_update: the user's keys changed (we keep none of theirs). */
export interface KeysChanged { readonly kind: 'keysChanged'; readonly userId: string }
export interface DirectToDevice {
  readonly kind: 'toDevice';
  readonly sender: string;
  readonly type: string;
  readonly messageId: string;
  /** Messages for our users only; `dropped` counts those for other servers' users. */
  readonly messages: readonly RemoteToDeviceMessage[];
  readonly dropped: number;
}
export type InboundEdu = TypingUpdate | ReceiptsUpdate | PresenceUpdates | KeysChanged | DirectToDevice;

export type Parsed = { readonly ok: true; readonly edu: InboundEdu } | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): Parsed => ({ ok: false, reason });
const accept = (edu: InboundEdu): Parsed => ({ ok: true, edu });

/** Where a parser stops: thrown inside this file only, turned into a refusal by parseEdu. */
class Refusal extends Error {}
const fail = (reason: string): never => {
  throw new Refusal(reason);
};

const isBoundedString = (value: JsonValue | undefined, maxBytes: number): value is string =>
  typeof value === 'string' && value !== '' && utf8Length(value) <= maxBytes;
const isCount = (value: JsonValue | undefined): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

const userOf = (value: JsonValue | undefined, what: string): UserId =>
  typeof value === 'string' && isUserId(value) ? value : fail(`${what} is not a user id`);
const fromOrigin = (userId: UserId, origin: string): boolean => userServerName(userId) === origin;
const requireFromOrigin = (userId: UserId, origin: string, what: string): UserId =>
  fromOrigin(userId, origin) ? userId : fail(`${what} ${userId} is not a user of ${origin}`);

const parseTyping = (content: JsonObject, origin: string): TypingUpdate => {
  const roomId = typeof content.room_id === 'string' && isRoomId(content.room_id) ? content.room_id : fail('room_id is not a room id');
  const userId = requireFromOrigin(userOf(content.user_id, 'user_id'), origin, 'user_id');
  if (typeof content.typing !== 'boolean') fail('typing is not a boolean');
  return { kind: 'typing', roomId, userId, typing: content.typing as boolean };
};

/** One user's m.read entry, or undefined when it is malformed. */
const receiptOf = (roomId: string, userId: string, entry: JsonValue): ReceiptUpdate | undefined => {
  if (!isJsonObject(entry) || !Array.isArray(entry.event_ids) || !isJsonObject(entry.data)) return undefined;
  // The schema allows exactly one event id; the first is taken from a longer list.
  const eventId = entry.event_ids[0];
  if (typeof eventId !== 'string' || !isEventId(eventId) || !isCount(entry.data.ts)) return undefined;
  const threadId = entry.data.thread_id;
  if (threadId !== undefined && !(threadId === 'main' || (typeof threadId === 'string' && isEventId(threadId)))) return undefined;
  return { roomId, userId, eventId, ts: entry.data.ts, ...(threadId === undefined ? {} : { threadId }) };
};

/**
 * Only `m.read` travels between servers: `m.read.private` is its owner's server's alone, so one
 * arriving is ignored, as is any other receipt type.
 */
const parseReceipts = (content: JsonObject, origin: string): ReceiptsUpdate => {
  const rooms = Object.entries(content);
  if (rooms.length > EDU_LIMITS.receiptRooms) fail(`more than ${EDU_LIMITS.receiptRooms} rooms`);
  const receipts: ReceiptUpdate[] = [];
  let dropped = 0;
  for (const [roomId, byType] of rooms) {
    if (!isRoomId(roomId) || !isJsonObject(byType)) fail('a receipt is not keyed by room id');
    const read = (byType as JsonObject)['m.read'];
    if (read === undefined) continue;
    if (!isJsonObject(read)) fail('m.read is not an object');
    const users = Object.entries(read as JsonObject);
    if (users.length > EDU_LIMITS.receiptUsersPerRoom) fail(`more than ${EDU_LIMITS.receiptUsersPerRoom} users in ${roomId}`);
    for (const [userId, entry] of users) {
      const receipt = isUserId(userId) && fromOrigin(userId, origin) ? receiptOf(roomId, userId, entry) : undefined;
      if (receipt === undefined) dropped += 1;
      else receipts.push(receipt);
    }
  }
  return { kind: 'receipts', receipts, dropped };
};

const PRESENCE = new Set(['online', 'unavailable', 'offline']);

const presenceOf = (entry: JsonValue, origin: string): PresenceUpdate | undefined => {
  if (!isJsonObject(entry) || typeof entry.user_id !== 'string' || !isUserId(entry.user_id) || !fromOrigin(entry.user_id, origin)) return undefined;
  if (typeof entry.presence !== 'string' || !PRESENCE.has(entry.presence) || !isCount(entry.last_active_ago)) return undefined;
  const status = entry.status_msg;
  if (status !== undefined && status !== null && !(typeof status === 'string' && utf8Length(status) <= EDU_LIMITS.statusMessageBytes)) return undefined;
  return {
    userId: entry.user_id, presence: entry.presence as PresenceUpdate['presence'], lastActiveAgo: entry.last_active_ago,
    ...(typeof status === 'string' && status !== '' ? { statusMsg: status } : {}),
  };
};

const parsePresence = (content: JsonObject, origin: string): PresenceUpdates => {
  if (!Array.isArray(content.push)) fail('push is not an array');
  const push = content.push as JsonValue[];
  if (push.length > EDU_LIMITS.presenceUpdates) fail(`more than ${EDU_LIMITS.presenceUpdates} presence updates`);
  const updates = push.map((entry) => presenceOf(entry, origin)).filter((update) => update !== undefined);
  return { kind: 'presence', updates, dropped: push.length - updates.length };
};

const parseDeviceListUpdate = (content: JsonObject, origin: string): KeysChanged => {
  const userId = requireFromOrigin(userOf(content.user_id, 'user_id'), origin, 'user_id');
  if (!isBoundedString(content.device_id, EDU_LIMITS.identifierBytes)) fail('device_id is not a device id');
  if (!isCount(content.stream_id)) fail('stream_id is not a non-negative integer');
  const prevIds = content.prev_id ?? [];
  if (!Array.isArray(prevIds) || prevIds.length > EDU_LIMITS.prevIds || !prevIds.every(isCount)) fail('prev_id is not a short list of integers');
  if (content.deleted !== undefined && typeof content.deleted !== 'boolean') fail('deleted is not a boolean');
  if (content.keys !== undefined && !isJsonObject(content.keys)) fail('keys is not an object');
  return { kind: 'keysChanged', userId };
};

const parseSigningKeyUpdate = (content: JsonObject, origin: string): KeysChanged => {
  const userId = requireFromOrigin(userOf(content.user_id, 'user_id'), origin, 'user_id');
  for (const name of ['master_key', 'self_signing_key'] as const) {
    const key = content[name];
    if (key === undefined) continue;
    // A key names its owner: one naming another user is no key of this user.
    if (!isJsonObject(key) || (key.user_id !== undefined && key.user_id !== userId)) fail(`${name} is not a key of ${userId}`);
  }
  return { kind: 'keysChanged', userId };
};

const parseDirectToDevice = (content: JsonObject, origin: string, serverName: string): DirectToDevice => {
  const sender = requireFromOrigin(userOf(content.sender, 'sender'), origin, 'sender');
  if (!isBoundedString(content.type, EDU_LIMITS.identifierBytes)) fail('type is not an event type');
  if (!isBoundedString(content.message_id, EDU_LIMITS.messageIdBytes)) fail('message_id is not a bounded string');
  if (!isJsonObject(content.messages)) fail('messages is not an object');
  const messages: RemoteToDeviceMessage[] = [];
  let named = 0;
  let dropped = 0;
  for (const [userId, byDevice] of Object.entries(content.messages as JsonObject)) {
    if (!isUserId(userId) || !isJsonObject(byDevice)) fail('messages is not keyed by user id');
    const devices = Object.entries(byDevice as JsonObject);
    named += devices.length;
    if (named > EDU_LIMITS.toDeviceMessages) fail(`more than ${EDU_LIMITS.toDeviceMessages} messages`);
    for (const [deviceId, message] of devices) {
      if (utf8Length(deviceId) > EDU_LIMITS.identifierBytes || !isJsonObject(message)) fail('a message is not an object for a device id');
      // A server sends each of our users' messages to us; others are not ours to deliver.
      if (userServerName(userId as UserId) !== serverName) dropped += 1;
      else messages.push({ userId, deviceId, content: message as JsonObject });
    }
  }
  return { kind: 'toDevice', sender, type: content.type as string, messageId: content.message_id as string, messages, dropped };
};

/**
 * One entry of a transaction's `edus`: what it asks, or why it is refused. An EDU type this
 * server does not handle is refused too (the spec lets a server ignore EDUs it does not know).
 */
export const parseEdu = (raw: unknown, origin: string, serverName: string): Parsed => {
  if (!isJsonObject(raw as JsonValue)) return refuse('not an object');
  const edu = raw as JsonObject;
  if (typeof edu.edu_type !== 'string') return refuse('edu_type is not a string');
  if (!isJsonObject(edu.content)) return refuse('content is not an object');
  try {
    switch (edu.edu_type) {
      case 'm.typing': return accept(parseTyping(edu.content, origin));
      case 'm.receipt': return accept(parseReceipts(edu.content, origin));
      case 'm.presence': return accept(parsePresence(edu.content, origin));
      case 'm.device_list_update': return accept(parseDeviceListUpdate(edu.content, origin));
      case 'm.signing_key_update': return accept(parseSigningKeyUpdate(edu.content, origin));
      case 'm.direct_to_device': return accept(parseDirectToDevice(edu.content, origin, serverName));
      default: return refuse('unknown edu_type');
    }
  } catch (error) {
    if (error instanceof Refusal) return refuse(error.message);
    throw error;
  }
};

/** The EDU's size as JSON text, in UTF-8 bytes (undefined when it is no JSON at all). */
export const eduBytes = (raw: unknown): number | undefined => {
  try {
    const text = JSON.stringify(raw);
    return text === undefined ? undefined : utf8Length(text);
  } catch {
    return undefined;
  }
};
