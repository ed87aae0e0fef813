/**
 * Per-user data and ephemeral streams: account data, tags, read markers, filters, push rules,
 * typing, receipts, to-device messages, end-to-end keys, presence, capabilities (public surface).
 */
export { createUserData, type UserData, type UserDataDependencies } from './userData.ts';
export type { Requester, UserDataContext, UserDataFederation } from './context.ts';
export {
  REMOTE_PRESENCE_TIMEOUT_MS, REMOTE_SENDER_DEVICE, REMOTE_TYPING_TIMEOUT_MS, type RemoteToDeviceMessage, type RemoteUserData,
} from './remoteEdus.ts';
export {
  deviceListUpdateEdu, presenceEdu, receiptEdu, signingKeyUpdateEdu, toDeviceEdu, toDeviceMessageId, typingEdu,
  type DeviceListUpdate, type ReceiptToSend, type ToDeviceMessages,
} from './federationEdus.ts';
export type { UserDataStreams, AccountDataStream } from './streams.ts';
export type { ToDeviceBatch } from './toDevice.ts';
export type { Authorize } from './crossSigning.ts';
export { keepStoredRoomKey } from './keyBackup.ts';
export { presenceContent } from './presence.ts';
export { receiptContents } from './receipts.ts';
export { createTypingStream, MAX_TYPING_TIMEOUT_MS, type Schedule, type TypingStream } from './typing.ts';
export {
  createPresenceTracker, SYNAPSE_PRESENCE_TIMERS, withPresenceActivity, type PresenceTimers, type PresenceTracker,
} from './presenceTracker.ts';
export {
  EMPTY_FILTER, eventMatches, parseFilter, roomAllowed,
  type EventFilter, type Filter, type FilterableEvent, type RoomEventFilter, type RoomFilter,
} from './filter.ts';
export { defaultRules, PUSH_RULE_KINDS, type PushRule, type PushRuleKind, type PushRuleset } from './pushRuleDefaults.ts';
export { effectiveRuleset, pushRulesContent } from './pushRuleset.ts';
export { capabilities, type CapabilitiesOptions, type CapabilitiesViewer } from './capabilities.ts';
export { createInProcessNotifier, type Notifier } from '../notifier/index.ts';
// The ports these use-cases need, so adapters can implement them from this one surface.
export type * from '../../ports/userData.ts';
export type { JsonObject } from '../../json.ts';
export type { SqlDatabase, SqlExecutor } from '../../ports/sql.ts';
