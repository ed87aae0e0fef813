/** The /sync route. */
export { createSyncRouter, parseSyncQuery, type SyncRouterOptions } from './router.ts';
export { createSlidingSyncRouter, type SlidingSyncRouterOptions } from './slidingRoutes.ts';
