/** Concurrency mechanisms every layer shares: group commit and per-key serial queues (pure: promises only). */
export { createGroupCommit, type GroupCommit, type GroupCommitOptions } from './groupCommit.ts';
export { createKeyedQueue, type KeyedQueue } from './keyedQueue.ts';
