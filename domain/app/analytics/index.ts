/** Analytics over message metadata (public surface): use-cases, their read port and parameters. */
export { createAnalytics, NOT_CONFIGURED_MESSAGE, type Analytics, type AnalyticsContext } from './analytics.ts';
export { DEFAULT_LIMIT, MAX_BUCKETS, MAX_LIMIT, MAX_TIME_MS, parseEventCountsQuery, parseRoomActivityQuery, type QueryParams } from './params.ts';
export type * from './readModel.ts';
export { createAnalystAccess, type AnalystAccess, type AnalystAccessContext } from './access.ts';
export {
  COUNTERS_INTERVAL_MS, countersMessage, createAnalyticsCountersFeed,
  type AnalyticsCounters, type AnalyticsCountersFeed, type AnalyticsCountersFeedContext, type AnalyticsCountersReadModel, type CountersListener,
} from './counters.ts';
export { createAnalyst, seriesOf, type Analyst, type AnalyticsExport } from './analyst.ts';
export {
  BUCKET_MS, DEFAULT_SERIES, DEFAULT_SQL_ROWS, DEFAULT_TOP, MAX_SERIES, MAX_SQL_LENGTH, MAX_SQL_ROWS, MAX_TOP, TOP_DIMENSIONS,
  bucketStarts, parseExportEventsQuery, parseSqlRequest, parseTimeseriesQuery, parseTopQuery,
} from './analystParams.ts';
export { csvField, csvLine, encodeCsv, encodeJsonArray } from './exportFormat.ts';
export { EXPORT_EVENT_COLUMNS } from './readModel.ts';
