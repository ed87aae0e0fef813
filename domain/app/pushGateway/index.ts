/** Push gateway delivery, the pure parts (public surface): who is pushed to and what is posted. */
export { httpPushers, isLocalUser, isPushable, pushRecipients } from './targets.ts';
export { outOfBandEvent, pushBadge, pushEvent, pushOutOfBandInvite, type PushGateway, type PushSenderContext } from './sender.ts';
export { unreadBadge } from './badge.ts';
export {
  badgeRequest, deviceData, fallbackRoomName, notifyRequest, priorityOf, rejectedPushkeys, stateString,
  type NotificationDetails, type NotifyRequest,
} from './payload.ts';
