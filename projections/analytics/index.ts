/** The analytics read model in ClickHouse: its projection, its query port, and the runner it needs. */
export { analyticsProjection, analyticsRows } from './projection.ts';
export { createClickHouseAnalyticsReadModel, type AnalyticsReadModelOptions } from './queries.ts';
export type { AnalyticsClickHouse } from './queriesClient.ts';
export { DEFAULT_ANALYST_SQL_LIMITS, type AnalystSqlLimits } from './queriesSql.ts';
export { createClickHouseCountersReadModel } from './counters.ts';
export {
  ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE, ANALYTICS_ROLLUP_TABLES, ANALYTICS_SCHEMA, ANALYTICS_TABLES,
  type AnalyticsOrigin, type AnalyticsStatus,
} from './schema.ts';
export { startClickHouseProjection } from '../runtime/clickhouseProjection.ts';
export type { RunningClickHouseProjection, StartClickHouseProjectionOptions } from '../runtime/clickhouseProjection.ts';
export type { ClickHouseExecutor, ClickHouseProjection, ClickHouseRow } from '../runtime/clickhousePositions.ts';
export { loadClickHousePositions } from '../runtime/clickhousePositions.ts';
