/** The appservice sender's pure pieces: which bridges an event goes to, the rooms it follows, transactions and backoff. */
export { bridgesInterestedIn, bridgesInterestedInOutOfBand, eventFactsOf, receivingBridges } from './interest.ts';
export { ALIASES_FRESH_MS, KnownRoom, localJoinedMembers, RoomFactsCache } from './roomFacts.ts';
export {
  DEFAULT_APPSERVICE_BACKOFF, keyCountUsers, MAX_EPHEMERAL_PER_TRANSACTION, MAX_EVENTS_PER_TRANSACTION, MAX_TO_DEVICE_PER_TRANSACTION, NO_EXTRAS,
  transactionBody, type DeviceKeyCounts, type TransactionExtras,
} from './transaction.ts';
export { mayConcern, presenceEvent, receiptEvents, toDeviceEvent, typingEvent, type ToDeviceForBridge } from './ephemeral.ts';
