/** Simplified sliding sync (MSC4186): parsing both wire forms, the use-case, rendering. */
export { createSlidingSync, type SlidingSyncContext, type SlidingSyncService } from './slidingSync.ts';
export { parseSlidingSyncRequest, SLIDING_LIMITS, type SlidingSyncForm, type SlidingSyncQuery } from './request.ts';
export { renderSlidingSync } from './render.ts';
export type * from './types.ts';
