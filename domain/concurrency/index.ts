/** Concurrency mechanisms every layer shares: group commit, per-key serial queues and an expiring cache of lookups (pure: promises only). */
export { createGroupCommit, type GroupCommit, type GroupCommitOptions } from './groupCommit.ts';
export { createKeyedQueue, type KeyedQueue } from './keyedQueue.ts';
export { createExpiringCache, type ExpiringCache, type ExpiringCacheOptions } from './expiringCache.ts';
