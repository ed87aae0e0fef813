/** The /sync route. */
export { createSyncRouter, parseSyncQuery, type SyncRouterOptions } from './router.ts';
