/** The federation sender's pure pieces: whom an event goes to, transactions, backoff. */
export {
  destinationsOf, isCreatedBy, JoinedServers, membershipEffectOf, serverOfUserId, type MembershipEffect,
} from './destinations.ts';
export {
  DEFAULT_QUEUE_BOUNDS, MAX_EDUS_PER_TRANSACTION, MAX_PDUS_PER_TRANSACTION, OutgoingQueue, latestPerRoom, outcomeOfStatus,
  transactionBody, transactionIds, type OutgoingPdu, type OutgoingQueueBounds, type TransactionOutcome,
} from './transaction.ts';
export { backoffDelayMs, DEFAULT_BACKOFF, type BackoffSettings } from './backoff.ts';
export { catchUpMarks, type CatchUpMark, type PlannedSend } from './catchUp.ts';
export { acceptedRecordOf, RoomServersCache } from './roomServers.ts';
