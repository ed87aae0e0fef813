/** Push rules applied to room history: unread counts for /sync and GET /notifications (public surface). */
export { evaluateEvents, pushRoomState, threadOf, type EvaluatedEvent, type PushRoomState } from './evaluation.ts';
export {
  countFrom, isRead, ownReceiptsIn, readUpTo, readUpToKey, tally, unreadFields,
  type Counts, type OwnReceipt, type ReadUpTo,
} from './counts.ts';
export {
  getNotifications, SCAN_BUDGET, type NotificationsContext, type NotificationsRequest, type NotificationsRequester,
} from './notifications.ts';
export { readPositions, type ReadPositionsContext } from './readPositions.ts';
