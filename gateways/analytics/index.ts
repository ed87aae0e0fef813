/** The admin analytics HTTP API. */
export { ANALYTICS_PREFIX, createAnalyticsRouter, type AnalyticsRouterOptions } from './router.ts';
export { createDashboardRouter, DASHBOARD_PREFIX, loadDashboardFiles } from './dashboard/index.ts';
