/** /sync: initial and incremental sync with long-polling (public surface). */
export type { SyncContext, SyncRequester } from './context.ts';
export { createSync, sync, MAX_SYNC_TIMEOUT_MS, type SyncRequest, type SyncService } from './sync.ts';
export { decodeSyncToken, encodeSyncToken, parseSyncToken, type SyncPositions } from './token.ts';
export { keyChanges, type KeyChangesContext } from './keyChanges.ts';
export { roomWakeKeys } from './wakeKeys.ts';
export { createEventStream, type EventStream, type EventStreamRequest } from './eventStream.ts';
export { createLegacySync, type LegacySync, type LegacySyncRooms } from './initialSync.ts';
export { DEFAULT_TIMELINE_LIMIT } from './timeline.ts';
export { unreadNotifications, userRules, withIgnoredSenders, type UnreadCounts } from './unread.ts';
export { rememberingReceiptTargets } from './ownReceipts.ts';
export { createSyncMemo, type SyncMemo } from './memo.ts';
