/** Analytics over message metadata (public surface): use-cases, their read port and parameters. */
export { createAnalytics, NOT_CONFIGURED_MESSAGE, type Analytics, type AnalyticsContext } from './analytics.ts';
export { DEFAULT_LIMIT, MAX_BUCKETS, MAX_LIMIT, MAX_TIME_MS, parseEventCountsQuery, parseRoomActivityQuery, type QueryParams } from './params.ts';
export type * from './readModel.ts';
export { createAnalystAccess, type AnalystAccess, type AnalystAccessContext } from './access.ts';
