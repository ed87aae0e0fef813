/**
 * The push gateway request (push-gateway-api § POST /_matrix/push/v1/notify): one request per
 * pusher, as Synapse sends them, since each pusher has its own `url` and `format`.
 */
import { isJsonObject, type JsonObject, type JsonValue } from '../../json.ts';
import type { StoredEvent } from '../../ports/rooms.ts';
import type { Pusher } from '../../ports/userData.ts';
import type { PushEvaluation } from '../../push/index.ts';

/** What the room says about the event, read beside it. */
export interface NotificationDetails {
  readonly senderDisplayName?: string;
  readonly roomName?: string;
  /** The room's canonical alias. */
  readonly roomAlias?: string;
  /** The recipient's badge (badge.ts): invited rooms and joined rooms with unread notifications. */
  readonly unread: number;
}

export interface NotifyRequest {
  /** The pusher's `data.url`. */
  readonly url: string;
  readonly body: JsonObject;
}

/**
 * `prio`: "high" for a highlight, a sound, or an encrypted event (whose content the server cannot
 * judge), as Synapse; "low" otherwise.
 */
export const priorityOf = (event: StoredEvent, evaluation: PushEvaluation): 'high' | 'low' =>
  event.type === 'm.room.encrypted' || evaluation.highlight || evaluation.sound !== undefined ? 'high' : 'low';

/** A pusher's `data` as the gateway receives it: everything but `url` (push-gateway-api § Devices). */
export const deviceData = (pusher: Pusher): JsonObject => {
  const { url: _url, ...rest } = pusher.data;
  return rest;
};

const isEventIdOnly = (pusher: Pusher): boolean => pusher.data.format === 'event_id_only';

const membershipFields = (content: JsonValue, userIsTarget: boolean): JsonObject => ({
  ...(isJsonObject(content) && typeof content.membership === 'string' ? { membership: content.membership } : {}),
  user_is_target: userIsTarget,
});

/**
 * The body posted to `pusher`'s gateway. With `format: event_id_only` only the event id, room id,
 * counts, priority and devices are sent (pusher.yaml `data.format`), without tweaks, as Synapse;
 * otherwise the event's type, sender, content and the room's name and alias as well, and for a
 * membership event its `membership` (which the spec leaves out; Synapse sends it, and gateways
 * such as Sygnal pass it on). Optional fields with nothing to say (no tweaks, empty content) are
 * left out, as Synapse leaves them.
 */
export const notifyRequest = (
  pusher: Pusher, recipient: string, event: StoredEvent, evaluation: PushEvaluation, details: NotificationDetails,
): NotifyRequest | undefined => {
  if (typeof pusher.data.url !== 'string') return undefined;
  const device: JsonObject = {
    app_id: pusher.appId,
    pushkey: pusher.pushkey,
    // Seconds since the epoch when the pushkey was last set.
    pushkey_ts: Math.floor(pusher.pushkeyTs / 1000),
    data: deviceData(pusher),
    ...(isEventIdOnly(pusher) || Object.keys(evaluation.tweaks).length === 0 ? {} : { tweaks: { ...evaluation.tweaks } }),
  };
  const counts: JsonObject = { unread: details.unread };
  const common: JsonObject = {
    event_id: event.eventId, room_id: event.roomId, counts, prio: priorityOf(event, evaluation), devices: [device],
  };
  if (isEventIdOnly(pusher)) return { url: pusher.data.url, body: { notification: common } };
  const content = event.pdu.content;
  const notification: JsonObject = {
    ...common,
    type: event.type,
    sender: event.sender,
    ...(details.senderDisplayName === undefined ? {} : { sender_display_name: details.senderDisplayName }),
    ...(details.roomName === undefined ? {} : { room_name: details.roomName }),
    ...(details.roomAlias === undefined ? {} : { room_alias: details.roomAlias }),
    // A membership event about the recipient (an invite, a kick).
    ...(event.type === 'm.room.member' && event.stateKey !== null ? membershipFields(content, event.stateKey === recipient) : {}),
    ...(isJsonObject(content) && Object.keys(content).length > 0 ? { content } : {}),
  };
  return { url: pusher.data.url, body: { notification } };
};

/**
 * A badge update: only `counts` and the device (push_notifier.yaml: `event_id` "may be omitted for
 * notifications that only contain updated badge counts"), sent when a read receipt changed the
 * badge, as Synapse's `_send_badge` (which also sends an empty `id` and `sender` and a null `type`,
 * fields the spec types as strings or does not define, so they are left out here).
 */
export const badgeRequest = (pusher: Pusher, unread: number): NotifyRequest | undefined => {
  if (typeof pusher.data.url !== 'string') return undefined;
  const device: JsonObject = { app_id: pusher.appId, pushkey: pusher.pushkey, pushkey_ts: Math.floor(pusher.pushkeyTs / 1000), data: deviceData(pusher) };
  return { url: pusher.data.url, body: { notification: { counts: { unread }, devices: [device] } } };
};

/** A member's name as Synapse's name_from_member_event: the display name, else the user id. */
const memberName = (member: StoredEvent): string => stateString(member, 'displayname') ?? member.stateKey ?? member.sender;

/**
 * The room's name for a push when it has no m.room.name, as Synapse's calculate_room_name (with
 * fallback_to_single_member off, as its pushes use it): the canonical alias; else, with two or more
 * other members joined or invited (oldest first), "A and B" or "A and N others"; else none.
 */
export const fallbackRoomName = (alias: string | undefined, members: readonly StoredEvent[], recipient: string): string | undefined => {
  if (alias !== undefined && /^#[^:]*:.+$/.test(alias)) return alias;
  const others = members
    .filter((member) => member.type === 'm.room.member' && member.stateKey !== null && member.stateKey !== recipient
      && ['join', 'invite'].includes(stateString(member, 'membership') ?? ''))
    .sort((a, b) => a.originServerTs - b.originServerTs);
  if (others.length < 2) return undefined;
  return others.length === 2 ? `${memberName(others[0]!)} and ${memberName(others[1]!)}` : `${memberName(others[0]!)} and ${others.length - 1} others`;
};

/** The pushkeys a gateway answered as `rejected`: their pushers must be removed. */
export const rejectedPushkeys = (response: unknown): string[] => {
  if (!isJsonObject(response) || !Array.isArray(response.rejected)) return [];
  return response.rejected.filter((key): key is string => typeof key === 'string');
};

/** A string field of a state event's content (`m.room.name` `name`, `m.room.canonical_alias` `alias`, a member's `displayname`). */
export const stateString = (event: StoredEvent | undefined, key: string): string | undefined => {
  const content = event?.pdu.content;
  if (!isJsonObject(content)) return undefined;
  const value = content[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
};
