/** The analytics read model in ClickHouse: its projection, its query port, and the runner it needs. */
export { analyticsProjection, analyticsRows } from './projection.ts';
export { createClickHouseAnalyticsReadModel } from './queries.ts';
export {
  ANALYTICS_EVENTS_TABLE, ANALYTICS_REDACTIONS_TABLE, ANALYTICS_ROLLUP_TABLES, ANALYTICS_SCHEMA, ANALYTICS_TABLES,
  type AnalyticsOrigin, type AnalyticsStatus,
} from './schema.ts';
export { startClickHouseProjection } from '../runtime/clickhouseProjection.ts';
export type { RunningClickHouseProjection, StartClickHouseProjectionOptions } from '../runtime/clickhouseProjection.ts';
export type { ClickHouseExecutor, ClickHouseProjection, ClickHouseRow } from '../runtime/clickhousePositions.ts';
